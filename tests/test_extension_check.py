"""The extension checker on a real recording and on broken copies of it:
each mutation breaks one rule of docs/trace-extension.md and must be
reported."""

import json
import shutil

import pytest

from python_ct.trace_check import check_trace_folder

EXTENSION = "trace_extension.jsonl"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, python_ct):
    """A recording of subexpressions.py, made once."""
    from conftest import PROGRAMS, program_env, run
    folder = tmp_path_factory.mktemp("base") / "trace"
    process = run([python_ct, PROGRAMS / "subexpressions.py"],
                  program_env(CODETRACER_DB_TRACE_PATH=str(folder)), folder.parent)
    assert process.returncode == 0, process.stderr
    return folder


def broken_copy(recorded, tmp_path, mutate):
    """Problems the checker finds once `mutate(records)` changed the file."""
    folder = tmp_path / "trace"
    shutil.copytree(recorded, folder)
    lines = (folder / EXTENSION).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    text = mutate(records)
    if text is None:
        text = "".join(json.dumps(r) + "\n" for r in records)
    (folder / EXTENSION).write_text(text)
    return check_trace_folder(folder)


def first(records, tag):
    return next(r for r in records if r[0] == tag)


def test_a_real_recording_is_valid(recorded):
    assert check_trace_folder(recorded) == []


def test_a_line_cut_short_at_the_end_is_not_a_problem(recorded, tmp_path):
    def cut(records):
        text = "".join(json.dumps(r) + "\n" for r in records)
        return text[:-20]
    assert broken_copy(recorded, tmp_path, cut) == []


def set_field(tag, index, value):
    def mutate(records):
        first(records, tag)[index] = value
    return mutate


@pytest.mark.parametrize("mutate, expected", [
    (lambda rs: rs.pop(0) and None, "format"),
    (set_field("value", 2, 10_000), "site"),
    (set_field("value", 1, 10_000_000), "step"),
    (set_field("site", 4, 9_999), "function"),
    (set_field("site", 2, "guess"), "kind"),
    (set_field("value", 3, {"kind": "Int", "i": "one", "type_id": 0}), "Int"),
    (lambda rs: first(rs, "assign").append(first(rs, "assign")[3]) and None, "key(s)"),
    (lambda rs: rs.insert(3, ["value", 0]) and None, "must have 3 fields"),
], ids=["no-format-line", "undefined-site", "step-out-of-range",
        "function-out-of-range", "unknown-kind", "bad-value", "extra-key",
        "short-record"])
def test_broken_files_are_reported(recorded, tmp_path, mutate, expected):
    problems = broken_copy(recorded, tmp_path, mutate)
    assert problems, f"no problem found for a broken {expected}"
    assert any(expected.lower() in p.lower() for p in problems), problems


def test_a_broken_thread_folder_is_reported(record_program, tmp_path):
    recording = record_program("threads_many.py")
    folder = tmp_path / "copy"
    shutil.copytree(recording.folder, folder)
    (folder / "threads" / "2" / "trace.json").write_text("[")
    problems = check_trace_folder(folder)
    assert problems and all(p.startswith("threads/2") for p in problems), problems
