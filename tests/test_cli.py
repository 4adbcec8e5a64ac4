"""python-ct as a command: it runs programs exactly like python3.13.

Recording must not change what a program prints or its exit code; with
CODETRACER_RECORD=0 python-ct records nothing and behaves like the stock
interpreter built from the same sources.
"""

import json
import signal
from types import SimpleNamespace

import pytest

from conftest import (PROGRAMS, SUMMARY_PREFIX, checked_trace, corpus,
                      program_env, run)
from python_ct.trace_model import ERROR, TraceModel


def outcome(process, stderr=None):
    return (process.stdout,
            process.stderr if stderr is None else stderr,
            process.returncode)


@pytest.mark.parametrize("program", corpus())
def test_recording_does_not_change_the_program(record_program,
                                               run_unrecorded, program):
    recording = record_program(program)
    plain = run_unrecorded(PROGRAMS / program)
    assert outcome(recording.process, recording.stderr) == outcome(plain)


@pytest.mark.parametrize("program", corpus())
def test_unrecorded_run_matches_stock_python(stock_python, run_unrecorded,
                                             tmp_path, program):
    stock = run([stock_python, PROGRAMS / program], program_env(), tmp_path)
    assert outcome(run_unrecorded(PROGRAMS / program)) == outcome(stock)


def test_summary_is_one_final_line(record_program):
    recording = record_program("output.py")
    assert recording.summary.startswith(SUMMARY_PREFIX)
    assert str(recording.folder) in recording.summary
    assert SUMMARY_PREFIX not in recording.stderr
    assert recording.process.stderr.endswith("\n")


def test_record_off_writes_nothing(run_unrecorded, tmp_path):
    folder = tmp_path / "trace"
    process = run_unrecorded(PROGRAMS / "five.py",
                             env={"CODETRACER_DB_TRACE_PATH": str(folder)})
    assert outcome(process) == ("5.5\n", "", 0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable, folder", [
    (None, "trace-out"), ("my-trace", "my-trace")])
def test_relative_folder_is_resolved_at_start(python_ct, tmp_path, variable,
                                              folder):
    """chdir.py changes directory before python-ct writes the trace."""
    env = program_env() if variable is None else program_env(
        CODETRACER_DB_TRACE_PATH=variable)
    process = run([python_ct, PROGRAMS / "chdir.py"], env, tmp_path)
    assert process.stdout == "elsewhere\n"
    trace = checked_trace(tmp_path / folder, process)
    assert trace.metadata["workdir"] == str(tmp_path)


def test_unicode_paths_and_arguments(record, tmp_path):
    folder = tmp_path / "d\u00efr with space"
    folder.mkdir()
    program = folder / "pr\u00f6g.py"
    program.write_text((PROGRAMS / "five.py").read_text())
    recording = record(program, "a", "b c", "\u00fc", cwd=folder)
    assert recording.stdout == "5.5\n"
    metadata = recording.trace.metadata
    assert (metadata["workdir"], metadata["program"], metadata["args"]) == (
        str(folder), str(program), ["a", "b c", "\u00fc"])
    assert recording.trace.trace_paths == [str(program)]


def test_installed_trace_checker(record_program, python_ct, tmp_path):
    """python-ct's own tools run unrecorded: checking the default trace
    folder must not record over it."""
    folder = record_program("five.py").folder
    before = (folder / "trace.json").read_bytes()
    process = run([python_ct, "-m", "python_ct.trace_check", folder],
                  program_env(CODETRACER_DB_TRACE_PATH=str(folder)), tmp_path)
    assert outcome(process) == (f"{folder}: OK\n", "", 0)
    assert (folder / "trace.json").read_bytes() == before


def test_unwritable_folder_is_reported(python_ct, tmp_path):
    folder = "/proc/forbidden/x"
    process = run([python_ct, PROGRAMS / "five.py"],
                  program_env(CODETRACER_DB_TRACE_PATH=folder), tmp_path)
    assert process.returncode != 0
    [message] = process.stderr.splitlines()
    assert message.startswith("python-ct:") and folder in message


def test_module_mode(record, run_unrecorded):
    env = {"PYTHONPATH": str(PROGRAMS)}
    recording = record("-m", "recursion", env=env)
    plain = run_unrecorded("-m", "recursion", env=env)
    assert outcome(recording.process, recording.stderr) == outcome(plain)
    trace = recording.trace
    assert trace.metadata["program"] == "recursion"
    assert {path for path, _ in trace.locations()} == {"recursion.py"}
    assert trace.trace_paths == [str(PROGRAMS / "recursion.py")]
    assert len(trace.calls_named("fib")) == 15


def test_command_mode(record, run_unrecorded):
    code = "x = 6\nprint(x * 7)\n"
    recording = record("-c", code)
    plain = run_unrecorded("-c", code)
    assert outcome(recording.process, recording.stderr) == outcome(plain)
    assert plain.stdout == "42\n"
    trace = recording.trace
    assert trace.metadata["program"] == "-c"
    assert [step.line for step in trace.steps][-2:] == [1, 2]
    assert trace.steps[-1].values == {"x": 6}
    assert trace.output() == "42\n"


def test_command_mode_skips_generated_code(record):
    """namedtuple and dataclasses compile methods from "<string>" too; only
    the command's own code is recorded, and it points at command.py."""
    code = ("import collections, dataclasses\n"
            "P = collections.namedtuple('P', 'x y')\n"
            "@dataclasses.dataclass\n"
            "class D:\n"
            "    a: int\n"
            "def double(v):\n"
            "    return v * 2\n"
            "print(double(P(1, 2).x), D(3))\n")
    recording = record("-c", code)
    assert recording.stdout == "2 D(a=3)\n"
    trace = recording.trace
    assert [c.name for c in trace.root.children[0].children] == ["D", "double"]
    [path] = trace.paths
    assert path.endswith("/command.py")
    assert open(path).read().rstrip("\n") == code.rstrip("\n")



@pytest.mark.parametrize("format", ["json", "ctfs"])
@pytest.mark.parametrize("how, signum", [
    ("string_at", signal.SIGSEGV), ("strlen", signal.SIGSEGV),
    ("abort", signal.SIGABRT), ("thread", signal.SIGSEGV)])
def test_a_crash_leaves_a_finished_trace(record_program, run_unrecorded, how, signum,
                                         format):
    """A program that dies of a fatal signal, with or without the GIL, on
    the main thread or another: it prints and dies as unrecorded, python-ct
    says why the trace ends, and the trace holds everything up to the
    crash, with the signal as an error on the crashing thread's last step."""
    program = PROGRAMS / "crashes.py"
    plain = run_unrecorded(program, how)
    assert plain.returncode == -signum
    recording = record_program("crashes.py", how, env={"CODETRACER_FORMAT": format})
    assert (recording.process.returncode, recording.stdout) == (-signum, plain.stdout)
    assert recording.stdout.splitlines() == ["handlers 0 0", "before the crash 10"]
    name = signal.strsignal(signum)
    assert recording.stderr == (f"python-ct: the program was killed by signal {signum} "
                                f"({name}); finishing the trace recorded up to there\n")
    assert recording.summary.startswith(SUMMARY_PREFIX)
    main = recording.trace
    crashed = TraceModel.load(recording.folder / "threads" / "1") if how == "thread" else main
    [crash] = crashed.calls_named("crash")
    assert crash.args == {"how": "string_at" if how == "thread" else how}
    last = crashed.steps[-1]
    assert last.call is crash and last.values["total"] == 10
    assert [(e.kind, e.content, e.step) for e in crashed.events if e.kind == ERROR] == [
        (ERROR, f"killed by signal {signum} ({name})", len(crashed.steps) - 1)]
    assert main.root.return_value == 128 + signum
    metadata = json.loads((recording.folder / "trace_metadata.json").read_text())
    assert metadata["exit_status"] == {"code": 128 + signum}

def run_until_signal(command, signum, env):
    """Run `command`, send it `signum` once it prints its first line."""
    import subprocess
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    process.send_signal(signum)
    rest, stderr = process.communicate(timeout=30)
    return process, first + rest, stderr


@pytest.mark.parametrize("how, signum, format", [
    ("sleep", signal.SIGTERM, "json"), ("sleep", signal.SIGTERM, "ctfs"),
    ("busy", signal.SIGTERM, "json"), ("busy", signal.SIGTERM, "ctfs"),
    ("thread", signal.SIGTERM, "json"), ("fork", signal.SIGTERM, "ctfs"),
    ("sleep", signal.SIGHUP, "ctfs"),
    ("handled", signal.SIGTERM, "json")])
def test_a_terminated_program_leaves_a_finished_trace(python_ct, stock_python, tmp_path,
                                                      how, signum, format):
    """SIGTERM or SIGHUP ends the program as unrecorded, asleep or busy,
    and python-ct says why the trace ends: the trace holds everything up to
    there, with the signal as an error on the main thread's last step.  A
    program's own handler is left to run, and the trace ends as the program
    does."""
    program = str(PROGRAMS / "terminated.py")
    plain, plain_stdout, _ = run_until_signal([str(stock_python), program, how], signum,
                                              program_env())
    folder = tmp_path / "trace"
    process, stdout, stderr = run_until_signal(
        [str(python_ct), program, how], signum,
        program_env(CODETRACER_DB_TRACE_PATH=str(folder), CODETRACER_FORMAT=format))
    assert (process.returncode, stdout) == (plain.returncode, plain_stdout)
    assert stdout.startswith("ready 10 on_sigterm 0\n" if how == "handled" else "ready 10 0 0\n")
    trace = checked_trace(folder, SimpleNamespace(stderr=stderr))
    [wait] = trace.calls_named("wait")
    assert wait.args == {"how": how}
    errors = [(e.content, e.step) for e in trace.events if e.kind == ERROR]
    metadata = json.loads((folder / "trace_metadata.json").read_text())
    if how == "handled":
        assert process.returncode == 3 and stdout.endswith("handled 15\n")
        assert "terminated by signal" not in stderr
        assert metadata["exit_status"] == {"code": 3}
        return
    assert process.returncode == -signum
    name = signal.strsignal(signum)
    assert stderr.splitlines()[0] == (f"python-ct: the program was terminated by signal "
                                      f"{signum} ({name}); finishing the trace recorded "
                                      f"up to there")
    last = trace.steps[-1]
    assert last.call is wait and last.values["total"] >= 10
    assert errors == [(f"killed by signal {signum} ({name})", len(trace.steps) - 1)]
    assert trace.root.return_value == 128 + signum
    assert metadata["exit_status"] == {"code": 128 + signum}


def test_ctrl_c_interrupts_a_recorded_program(python_ct, tmp_path):
    """Ctrl-C reaches the program while the trace writer's thread runs: a
    sleep is cut short, the program dies of SIGINT as unrecorded, and the
    trace up to there is valid."""
    import subprocess
    folder = tmp_path / "trace"
    process = subprocess.Popen(
        [str(python_ct), str(PROGRAMS / "interrupted.py"), "--wait"],
        env=program_env(CODETRACER_DB_TRACE_PATH=str(folder)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in stderr
    trace = checked_trace(folder, process)
    assert trace.steps[-1].line == 9
    metadata = json.loads((folder / "trace_metadata.json").read_text())
    assert metadata["exit_status"] == {"code": 128 + signal.SIGINT}
