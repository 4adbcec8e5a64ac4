"""Cross-check python-ct against the upstream recorder.

The upstream recorder is codetracer-python-recorder 0.3.0 (PyPI), installed
by tests/run.py into build/upstream-venv, a venv of the stock twin. It runs
as `python -m codetracer_python_recorder --trace-dir OUT --format json
PROGRAM`. Both recorders must agree on the steps taken in the program's
own file, (file, line) in order, and on the call tree: the names and the
nesting of the calls, and the return values that upstream records as plain
data.

Deliberate differences, normalised or left out of the comparison:

* The module's call: both name it after the module (`<__main__>`); the
  comparison starts below it, at the program's own calls.
* Call names: upstream uses qualified names (`Rect.area`); the comparison
  uses the last component of either side's name.
* Values are not compared. Upstream records dunders, `__builtins__`,
  functions, classes and modules at module level and the module globals
  inside functions, python-ct filters them; upstream types are named
  `Int`, `String`, `Object`, python-ct's `int`, `str`, `float`; upstream
  writes objects as `Raw` str() text (addresses included), python-ct as
  `Struct`s; upstream gives generator resumes no arguments, python-ct the
  generator's parameters again.
* Return values that upstream records as `Raw` (objects, exceptions on
  unwinding, the class cell of a class body) are not compared.
* Upstream's CLI runs the program through runpy and exits with 0 even when
  the program does not: the programs compared here exit normally.
* The stdout Event metadata is a JSON blob upstream, "stdout" in python-ct;
  only the program's output itself is compared.
* Programs left out: upstream 0.3.0 crashes (SIGSEGV) on the cyclic
  containers of containers.py, and its runpy-based CLI does not put the
  script's folder on sys.path, so importer.py cannot import its helper.
"""

import pytest

from conftest import (PROGRAMS, UPSTREAM_PYTHON, program_env, require_file,
                      run)
from python_ct.trace_model import TraceModel

COMPARED_PROGRAMS = ["five.py", "functions.py", "recursion.py", "classes.py",
                     "closures.py", "comprehensions.py", "generators.py",
                     "exceptions.py", "stdlib_callbacks.py", "output.py",
                     "generator_throw.py", "coroutines.py",
                     "implicit_calls.py"]


@pytest.fixture(scope="session")
def upstream_python():
    return require_file(UPSTREAM_PYTHON, "the upstream recorder "
                        "(codetracer-python-recorder 0.3.0 in a venv of the "
                        "stock interpreter)")


def record_upstream(upstream_python, program, folder):
    process = run([upstream_python, "-m", "codetracer_python_recorder",
                   "--trace-dir", folder, "--format", "json", program],
                  program_env(), folder.parent)
    assert process.returncode == 0, process.stderr
    return process, TraceModel.load(folder)


def module_calls(trace):
    """The calls made below the module's call, in the order they start."""
    [module] = trace.root.children
    return trace.calls[2:], ", ".join(c.outline() for c in module.children)


def is_plain(value):
    if isinstance(value, (tuple, list)):
        return all(is_plain(item) for item in value)
    return value is None or isinstance(value, (bool, int, str))


@pytest.mark.parametrize("program", COMPARED_PROGRAMS)
def test_same_steps_and_calls_as_upstream(record_program, upstream_python,
                                          tmp_path, program):
    ours = record_program(program)
    process, theirs = record_upstream(upstream_python, PROGRAMS / program,
                                      tmp_path / "upstream")
    assert ours.stdout == process.stdout
    assert ours.trace.locations(program) == theirs.locations(program)
    our_calls, our_outline = module_calls(ours.trace)
    their_calls, their_outline = module_calls(theirs)
    assert our_outline == their_outline
    for mine, upstream in zip(our_calls, their_calls):
        if is_plain(upstream.return_value):
            assert mine.return_value == upstream.return_value, mine
