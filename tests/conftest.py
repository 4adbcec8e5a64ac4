"""Shared test helpers: where the interpreters are, and running programs.

python-ct:      $PYTHON_CT, else <repo>/build/install/bin/python-ct
stock twin:     <repo>/build/stock/bin/python3
upstream venv:  <repo>/build/upstream-venv (stock python3 with
                codetracer-python-recorder 0.3.0; tests/run.py makes it)

Every trace a test records goes through the trace checker first: a
checker problem fails the test.
"""

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "recorder" / "python"))

from python_ct.trace_check import check_trace_folder  # noqa: E402
from python_ct.trace_model import TraceModel  # noqa: E402

PROGRAMS = REPO / "tests" / "programs"
EXAMPLES = REPO / "examples"
STOCK_PYTHON = REPO / "build" / "stock" / "bin" / "python3"
UPSTREAM_PYTHON = REPO / "build" / "upstream-venv" / "bin" / "python"
SUMMARY_PREFIX = "python-ct: "
TIMEOUT = 300
# Variables that would change how the interpreters run the programs.
CLEARED_VARIABLES = ("CODETRACER_RECORD", "CODETRACER_DB_TRACE_PATH",
                     "CODETRACER_FORMAT", "PYTHONPATH", "PYTHONHOME",
                     "PYTHONSTARTUP", "PYTHONWARNINGS", "PYTHONSAFEPATH")


def python_ct_path():
    return Path(os.environ.get("PYTHON_CT")
                or REPO / "build" / "install" / "bin" / "python-ct").absolute()


def require_file(path, what):
    if not path.is_file():
        pytest.fail(f"{what} not found at {path}; `python3 tests/run.py` "
                    f"builds it (python3 build.py, python3 build.py "
                    f"--stock)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def python_ct():
    return require_file(python_ct_path(), "python-ct")


@pytest.fixture(scope="session")
def stock_python():
    return require_file(STOCK_PYTHON, "the stock CPython 3.13.5 twin")


def program_env(**changes):
    """The environment for a program run: deterministic, no leaks."""
    env = {k: v for k, v in os.environ.items()
           if k not in CLEARED_VARIABLES}
    env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    env.update(changes)
    return env


def run(command, env, cwd, input=None):
    """Run a command; its stdin is `input`, or empty."""
    return subprocess.run([str(part) for part in command], env=env,
                          cwd=cwd, input=input or "",
                          capture_output=True, encoding="utf-8",
                          errors="surrogateescape", timeout=TIMEOUT)


def split_summary(stderr):
    """Split stderr into (text before python-ct's summary line, summary).

    The summary is the final line when it starts with "python-ct: ";
    otherwise it is "".
    """
    lines = stderr.splitlines(keepends=True)
    if lines and lines[-1].startswith(SUMMARY_PREFIX):
        return "".join(lines[:-1]), lines[-1].rstrip("\n")
    return stderr, ""


@dataclass
class Recording:
    process: subprocess.CompletedProcess
    trace: TraceModel
    folder: Path
    stderr: str     # the program's stderr, without the summary line
    summary: str    # python-ct's summary line ("" if missing)

    @property
    def stdout(self):
        return self.process.stdout


def checked_trace(folder, process):
    """Load a trace folder after the checker found no problem in it."""
    problems = check_trace_folder(folder)
    if problems:
        shown = "\n  ".join(problems[:30])
        pytest.fail(f"invalid trace in {folder}:\n  {shown}\n"
                    f"stderr:\n{process.stderr[-2000:]}", pytrace=False)
    return TraceModel.load(folder)


@pytest.fixture
def record(python_ct, tmp_path):
    """record(*args, env=None, cwd=None, input=None) runs `python-ct ARGS`,
    recording into a fresh folder, and returns a Recording of the checked
    trace."""
    numbers = itertools.count()

    def record(*args, env=None, cwd=None, input=None):
        folder = tmp_path / f"trace-{next(numbers)}"
        env = program_env(CODETRACER_DB_TRACE_PATH=str(folder),
                          **(env or {}))
        process = run([python_ct, *args], env, cwd or tmp_path, input)
        stderr, summary = split_summary(process.stderr)
        return Recording(process, checked_trace(folder, process), folder,
                         stderr, summary)
    return record


@pytest.fixture
def record_program(record):
    """record_program(name, *args) records tests/programs/<name>."""
    def record_program(name, *args, **options):
        return record(PROGRAMS / name, *args, **options)
    return record_program


@pytest.fixture
def run_unrecorded(python_ct, tmp_path):
    """run_unrecorded(*args) runs `python-ct ARGS` with recording off."""
    def run_unrecorded(*args, env=None, cwd=None):
        env = program_env(CODETRACER_RECORD="0", **(env or {}))
        return run([python_ct, *args], env, cwd or tmp_path)
    return run_unrecorded


def corpus():
    """The names of all programs in tests/programs/."""
    return sorted(path.name for path in PROGRAMS.glob("*.py"))
