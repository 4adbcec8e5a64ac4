"""Threads each get a trace of their own; the standard streams are
recorded on the steps that use them, stdin included."""

import json

import pytest

from conftest import PROGRAMS, checked_trace
from python_ct.extension import Extension
from python_ct.trace_model import STDERR, STDOUT

STDIN = 3   # EventLogKind Read


def test_each_thread_writes_a_trace_folder_of_its_own(record_program):
    recording = record_program("threads_many.py")
    assert recording.stdout == "[('w0', 45), ('w1', 190), ('w2', 435)]\n"
    assert ", 4 threads, " in recording.summary
    metadata = json.loads((recording.folder / "trace_metadata.json").read_text())
    assert metadata["thread"]["index"] == 0
    listed = metadata["threads"]
    assert [t["folder"] for t in listed] == ["threads/1", "threads/2", "threads/3"]
    assert len({t["ident"] for t in listed} | {metadata["thread"]["ident"]}) == 4

    # The main thread starts and joins the workers but runs none of `work`.
    assert recording.trace.calls_named("work") == []
    finals = {}
    for entry in listed:
        folder = recording.folder / entry["folder"]
        trace = checked_trace(folder, recording.process)
        thread_metadata = json.loads((folder / "trace_metadata.json").read_text())
        assert thread_metadata["thread"] == {"index": entry["index"],
                                             "ident": entry["ident"]}
        [work] = trace.calls_named("work")
        name, n = work.args["name"], work.args["n"]
        # One step per loop iteration on lines 6 and 7, plus the entry.
        assert [line for _, line in trace.locations("threads_many.py")] == \
            [4, 5] + [6, 7] * n + [6, 8]
        finals[name] = trace.steps[-1].values["total"]
    assert finals == {"w0": 45, "w1": 190, "w2": 435}


def test_standard_streams_are_recorded_on_their_steps(record_program, stock_python):
    recording = record_program("standard_streams.py", input="Ada\nl1\nl2\n")
    assert recording.stdout == "name? raw out\nhello Ada, 2 more lines\n"
    assert recording.stderr == "raw err \u00e9\n"
    trace = recording.trace
    events = [(e.kind, e.metadata, e.content, trace.steps[e.step].location[1])
              for e in trace.events]
    assert events == [
        (STDOUT, "stdout", "name? ", 5),
        (STDIN, "stdin", "Ada\n", 5),
        (STDIN, "stdin", "l1\nl2\n", 8),
        (STDOUT, "stdout", "raw out\n", 9),
        (STDERR, "stderr", "raw err \u00e9\n", 10),
        (STDOUT, "stdout", "hello Ada, 2 more lines\n", 11)]


def test_threads_running_one_function_share_nothing(record_program):
    """Two threads switching often inside one function: each thread's
    trace names the function once and defines each site once."""
    recording = record_program("threads_interleaved.py")
    assert recording.stdout == "done\n"
    for folder in ("threads/1", "threads/2"):
        trace = checked_trace(recording.folder / folder, recording.process)
        names = [e["Function"]["name"] for e in trace.raw_events if "Function" in e]
        assert sorted(names) == sorted(set(names)) and "work" in names
        ext = Extension.load(recording.folder / folder)
        assert [a.value for a in ext.assignments if a.target == "total"][-1] \
            == sum(range(5000))
        positions = [(s.op, s.line, s.column, s.target) for s in ext.sites.values()]
        assert len(positions) == len(set(positions))


def test_a_forked_child_leaves_the_parents_trace_alone(record_program):
    """The child stops recording; the parent's trace goes on after the
    fork, and the trace writer's thread makes os.fork() no noisier."""
    recording = record_program("forks.py")
    assert sorted(recording.stdout.splitlines()) == ["child 45", "parent 49995000"]
    assert recording.stderr == ""
    trace = recording.trace
    assert [line for _, line in trace.locations("forks.py")][-4:] == [6, 7, 10, 11]
    assert trace.output() == "parent 49995000\n"
    assert trace.steps[-1].values["total"] == 49995000


@pytest.mark.parametrize("format", ["json", "ctfs"])
def test_type_first_met_after_the_buffer_fills_within_a_value(record, tmp_path, format):
    """A Value's record is written in place in the trace's buffer; a Type
    first met inside it goes before the Value event.  The buffer must not
    be handed to the writer thread halfway through the record, even when
    the record has filled it."""
    program = tmp_path / "new_types.py"
    program.write_text(
        "def main():\n"
        "    text = 'x' * 4000\n"
        "    for i in range(20):\n"
        "        things = [text] * 99 + [type('C%d' % i, (), {})()]\n"
        "    return i\n"
        "print(main())\n")
    recording = record(program, env={"CODETRACER_FORMAT": format,
                                      "CODETRACER_ASSIGNMENTS": "0",
                                      "CODETRACER_SUBEXPRESSIONS": "0"})
    assert recording.process.returncode == 0
    assert recording.stdout == "19\n"
    shown = [step.values["things"] for step in recording.trace.steps if "things" in step.values]
    assert len(shown) == 40
    assert all(value[:99] == ["x" * 4000] * 99 for value in shown)
    assert sorted({value[99]["__type__"] for value in shown}) == \
        sorted("__main__.C%d" % i for i in range(20))
