"""The trace checker and the trace model on hand-written trace folders.

These tests need no interpreter. The base fixture, fixtures/
reference_example/, is the complete example of the trace-format reference
(§2.10: five.py, 33 events); each mutation breaks one rule and must be
reported with the right problem.
"""

import copy
import json
import shutil
from pathlib import Path

import pytest

from python_ct import trace_check
from python_ct.trace_check import (MAX_PROBLEMS, TraceError,
                                   check_trace_folder, validate_trace_folder)
from python_ct.trace_model import ErrorValue, Raw, TraceModel, decode

EXAMPLE = Path(__file__).parent / "fixtures" / "reference_example"
TRACE, METADATA, PATHS = ("trace.json", "trace_metadata.json",
                          "trace_paths.json")
INT, FLOAT = 1, 2               # type ids in the example
FIRST_VALUE_EVENT = 10          # {"Value": add = Raw "<function add>"}


def example_documents():
    return {name: json.loads((EXAMPLE / name).read_text())
            for name in (TRACE, METADATA, PATHS)}


def write_folder(folder, documents):
    folder.mkdir()
    for name, document in documents.items():
        (folder / name).write_text(json.dumps(document))
    return folder


def problems_after(tmp_path, mutate):
    documents = example_documents()
    mutate(documents)
    return check_trace_folder(write_folder(tmp_path / "trace", documents))


def events_of(documents):
    return documents[TRACE]


def index_of(events, variant, occurrence=0):
    found = [i for i, e in enumerate(events)
             if isinstance(e, dict) and variant in e]
    return found[occurrence]


def set_value(documents, value):
    """Replace the value of the first Value event."""
    events = events_of(documents)
    events[index_of(events, "Value")]["Value"]["value"] = value


def add_type(documents, type_record):
    """Insert a Type before the first Step; return its type id."""
    events = events_of(documents)
    type_ids = sum(1 for e in events if "Type" in e)
    events.insert(index_of(events, "Step"), {"Type": type_record})
    return type_ids


def add_struct(documents, field_names, value_count):
    type_id = add_type(documents, {
        "kind": 6, "lang_type": "__main__.Point",
        "specific_info": {"kind": "Struct", "fields": [
            {"name": name, "type_id": INT} for name in field_names]}})
    set_value(documents, {
        "kind": "Struct", "type_id": type_id,
        "field_values": [{"kind": "Int", "i": 1, "type_id": INT}]
        * value_count})


def move_event(events, variant, before_variant):
    event = events.pop(index_of(events, variant))
    events.insert(index_of(events, before_variant), event)


def move_to_end(events, variant, occurrence):
    """Move an event to just before the final Return."""
    events.insert(-1, events.pop(index_of(events, variant, occurrence)))


def test_reference_example_is_valid():
    assert check_trace_folder(EXAMPLE) == []


def test_valid_additions_pass(tmp_path):
    def mutate(documents):
        events = events_of(documents)
        add_struct(documents, ["x", "y"], 2)
        events.insert(-1, "DropLastStep")
        events.insert(-1, {"Event": {"kind": 2, "metadata": "stderr",
                                     "content": "\u2713 \U0001f389"}})
        events.insert(-1, {"Value": {"variable_id": 0, "value": {
            "kind": "BigInt", "b": "AQAAAAAAAAAA", "negative": True,
            "type_id": INT}}})
        documents[METADATA].update(
            recorder={"name": "python-ct", "version": "0.1"},
            exit_status={"code": 0})
    assert problems_after(tmp_path, mutate) == []


def forbidden_event(name, body):
    def mutate(documents):
        events_of(documents).insert(-1, {name: body})
    return mutate


MUTATIONS = {
    "float value": (
        lambda d: set_value(d, {"kind": "Float", "f": 2.5,
                                "type_id": FLOAT}),
        "Float value must not be written"),
    "char value": (
        lambda d: set_value(d, {"kind": "Char", "c": "a", "type_id": INT}),
        "Char value must not be written"),
    "cell value": (
        lambda d: set_value(d, {"kind": "Cell", "place": 1}),
        "Cell value must not be written"),
    "value ref": (
        lambda d: set_value(d, {"kind": "ValueRef", "ref_id": 1}),
        "ValueRef value must not be written"),
    "ref_id": (
        lambda d: set_value(d, {"kind": "Sequence", "elements": [],
                                "is_slice": False, "type_id": INT,
                                "ref_id": 3}),
        "ref_id exists only in the spec"),
    "bind variable": (
        forbidden_event("BindVariable", {"variable_id": 0, "place": 1}),
        "BindVariable must not be written"),
    "assignment": (
        forbidden_event("Assignment", {"to": 0, "pass_by": "Value",
                                       "from": {"kind": "Literal"}}),
        "Assignment must not be written"),
    "drop variables": (
        forbidden_event("DropVariables", [0]),
        "DropVariables must not be written"),
    "thread start": (
        forbidden_event("ThreadStart", 1),
        "ThreadStart must not be written"),
    "thread exit": (
        forbidden_event("ThreadExit", 1), "ThreadExit must not be written"),
    "thread switch": (
        forbidden_event("ThreadSwitch", 1),
        "ThreadSwitch must not be written"),
    "unknown variant": (
        forbidden_event("Stepp", {"path_id": 0, "line": 1}),
        "unknown event variant 'Stepp'"),
    "two keys": (
        lambda d: events_of(d).insert(-1, {"Step": {}, "Path": "/x"}),
        "an event must be an object with one key"),
    "unknown value kind": (
        lambda d: set_value(d, {"kind": "Float64", "type_id": FLOAT}),
        "unknown value kind"),
    "type 0 not None": (
        lambda d: events_of(d)[3]["Type"].update(kind=7),
        "type 0 must be the None type"),
    "type kind out of range": (
        lambda d: add_type(d, {"kind": 34, "lang_type": "x",
                               "specific_info": {"kind": "None"}}),
        "kind must be a TypeKind number"),
    "unknown specific_info": (
        lambda d: add_type(d, {"kind": 6, "lang_type": "x",
                               "specific_info": {"kind": "Class"}}),
        "unknown specific_info kind"),
    "pointer to undefined type": (
        lambda d: add_type(d, {"kind": 23, "lang_type": "x",
                               "specific_info": {
                                   "kind": "Pointer",
                                   "dereference_type_id": 99}}),
        "dereference_type_id 99 used before its Type event"),
    "struct field count": (
        lambda d: add_struct(d, ["x", "y"], 3),
        "Struct value has 3 field values, its type 4 has 2 fields"),
    "struct of a non-struct type": (
        lambda d: set_value(d, {"kind": "Struct", "field_values": [],
                                "type_id": INT}),
        "specific_info is not Struct"),
    "step before top-level call": (
        lambda d: move_event(events_of(d), "Step", "Call"),
        "the first Step comes before the top-level Call"),
    "first call not top-level": (
        lambda d: events_of(d)[2]["Call"].update(function_id=1),
        "the first Call must be the top-level call"),
    "path id out of range": (
        lambda d: events_of(d)[index_of(events_of(d), "Step")]["Step"]
        .update(path_id=1),
        "path_id 1 used before its Path event"),
    "function id out of range": (
        lambda d: events_of(d)[index_of(events_of(d), "Call", 1)]["Call"]
        .update(function_id=2),
        "function_id 2 used before its Function event"),
    "function before its path": (
        lambda d: events_of(d)[1]["Function"].update(path_id=1),
        "path_id 1 used before its Path event"),
    "type id out of range": (
        lambda d: set_value(d, {"kind": "Int", "i": 1, "type_id": 9}),
        "type_id 9 used before its Type event"),
    "nested type id out of range": (
        lambda d: set_value(d, {"kind": "Tuple", "type_id": INT,
                                "elements": [{"kind": "None",
                                              "type_id": 5}]}),
        "type_id 5 used before its Type event"),
    "variable used before its name": (
        lambda d: move_to_end(events_of(d), "VariableName", 4),
        "variable_id 4 used before its VariableName event"),
    "call arg variable out of range": (
        lambda d: events_of(d)[index_of(events_of(d), "Call", 1)]["Call"]
        ["args"][0].update(variable_id=7),
        "variable_id 7 used before its VariableName event"),
    "extra return": (
        lambda d: events_of(d).append(
            {"Return": {"return_value": {"kind": "None", "type_id": 0}}}),
        "Return without an open Call"),
    "missing return": (
        lambda d: events_of(d).pop(),
        "1 Call(s) never returned"),
    "int beyond i64": (
        lambda d: set_value(d, {"kind": "Int", "i": 2 ** 63,
                                "type_id": INT}),
        "Int value.i must be an integer in the i64 range"),
    "bool as int": (
        lambda d: set_value(d, {"kind": "Int", "i": True, "type_id": INT}),
        "Int value.i must be an integer in the i64 range"),
    "bad base64": (
        lambda d: set_value(d, {"kind": "BigInt", "b": "AQ=", "type_id": INT,
                                "negative": False}),
        "BigInt.b is not padded standard base64"),
    "extra field": (
        lambda d: events_of(d)[index_of(events_of(d), "Step")]["Step"]
        .update(column=3),
        "Step has unexpected field(s) ['column']"),
    "missing field": (
        lambda d: events_of(d)[2]["Call"].pop("args"),
        "Call lacks field(s) ['args']"),
    "string line": (
        lambda d: events_of(d)[index_of(events_of(d), "Step")]["Step"]
        .update(line="1"),
        "Step.line must be an integer"),
    "value missing type id": (
        lambda d: set_value(d, {"kind": "Raw", "r": "x"}),
        "Raw value lacks field(s) ['type_id']"),
    "event kind out of range": (
        lambda d: events_of(d)[-2]["Event"].update(kind=14),
        "Event.kind must be an EventLogKind number"),
    "lone surrogate": (
        lambda d: set_value(d, {"kind": "String", "text": "a\udc80",
                                "type_id": INT}),
        f"trace.json event {FIRST_VALUE_EVENT}: a string holds a lone "
        f"surrogate"),
    "relative path event": (
        lambda d: (events_of(d)[0].update(Path="five.py"),
                   d.update({PATHS: ["five.py"]})),
        "Path 'five.py' is not absolute"),
    "paths differ from events": (
        lambda d: d.update({PATHS: ["/home/user/demo/other.py"]}),
        "trace_paths.json: [\"/home/user/demo/other.py\"] differs"),
    "relative trace path": (
        lambda d: d.update({PATHS: ["five.py"]}),
        "trace_paths.json: must be an array of absolute paths"),
    "metadata without program": (
        lambda d: d[METADATA].pop("program"),
        "trace_metadata.json: program must be a string"),
    "metadata args not strings": (
        lambda d: d[METADATA].update(args=["a", 1]),
        "trace_metadata.json: args must be an array of strings"),
    "metadata relative workdir": (
        lambda d: d[METADATA].update(workdir="demo"),
        "trace_metadata.json: workdir must be absolute"),
    "metadata exit code not int": (
        lambda d: d[METADATA].update(exit_status={"code": "0"}),
        "trace_metadata.json: exit_status.code must be int"),
    "metadata recorder without name": (
        lambda d: d[METADATA].update(recorder={"version": "1"}),
        "trace_metadata.json: recorder.name must be str"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_mutation_is_reported(tmp_path, name):
    mutate, expected = MUTATIONS[name]
    problems = problems_after(tmp_path, mutate)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("missing", [TRACE, METADATA, PATHS])
def test_missing_file(tmp_path, missing):
    folder = tmp_path / "trace"
    shutil.copytree(EXAMPLE, folder)
    (folder / missing).unlink()
    assert check_trace_folder(folder) == [
        "holds neither trace.json nor trace.ct" if missing == TRACE
        else f"{missing}: cannot read: No such file or directory"]


@pytest.mark.parametrize("text, reason", [
    ('[{"Path": "/a.py"}', "Expecting"),
    ('[{"Step": {"path_id": 0, "line": NaN}}]', "NaN is not valid JSON"),
    ('[{"Path": "/a.py", "Path": "/b.py"}]', "duplicate key(s) ['Path']"),
    (b'["\xff"]', "can't decode byte 0xff"),
])
def test_unparsable_trace(tmp_path, text, reason):
    folder = tmp_path / "trace"
    shutil.copytree(EXAMPLE, folder)
    data = text if isinstance(text, bytes) else text.encode()
    (folder / TRACE).write_bytes(data)
    [problem] = check_trace_folder(folder)
    assert problem.startswith("trace.json: not valid JSON") and \
        reason in problem


def test_problem_count_is_capped(tmp_path):
    def mutate(documents):
        events_of(documents)[4:4] = [{"Step": {"path_id": 9, "line": 1}}] \
            * (2 * MAX_PROBLEMS)
    problems = problems_after(tmp_path, mutate)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].endswith("too many problems, stopped checking")


def test_validate_raises_trace_error(tmp_path):
    folder = tmp_path / "trace"
    shutil.copytree(EXAMPLE, folder)
    (folder / PATHS).write_text("[]")
    with pytest.raises(TraceError) as raised:
        validate_trace_folder(folder)
    assert raised.value.problems == check_trace_folder(folder)
    assert "differs from the Path events" in str(raised.value)
    validate_trace_folder(EXAMPLE)


def test_command_line(tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLE, broken)
    (broken / METADATA).write_text("{}")
    assert trace_check.main([str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == f"{EXAMPLE}: OK\n"
    assert trace_check.main([str(EXAMPLE), str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{EXAMPLE}: OK"
    assert lines[1] == f"{broken}: trace_metadata.json: workdir must be " \
                       f"a string"


# --- the trace model ----------------------------------------------------

@pytest.fixture(scope="module")
def example():
    return TraceModel.load(EXAMPLE)


def test_model_steps(example):
    assert example.locations() == [("five.py", 1), ("five.py", 3),
                                   ("five.py", 4), ("five.py", 1),
                                   ("five.py", 2), ("five.py", 5)]
    assert example.locations("other.py") == []
    assert [s.index for s in example.steps] == list(range(6))


def test_model_values_attach_to_the_latest_step(example):
    function = Raw("<function add>")
    values = [step.values for step in example.steps]
    assert values == [
        {},
        {"add": function},
        # the argument values come before the Step of the call
        {"add": function, "x": 3, "a": 3, "b": Raw("2.5")},
        {"a": 3, "b": Raw("2.5")},
        {"a": 3, "b": Raw("2.5")},
        {"add": function, "x": 3, "y": Raw("5.5")},
    ]
    assert example.type_of(example.steps[5].records["y"])["kind"] == 8


def test_model_call_tree(example):
    root = example.root
    [add] = root.children
    assert (root.name, root.args, root.children) == ("<toplevel>", {}, [add])
    assert (add.name, add.args, add.return_value) == (
        "add", {"a": 3, "b": Raw("2.5")}, Raw("5.5"))
    assert add.parent is root and add.path == "/home/user/demo/five.py"
    assert root.returned and add.returned and root.return_value is None
    assert root.outline() == "<toplevel>(add)"
    assert example.calls_named("add") == [add]


def test_model_call_takes_the_step_before_it(example):
    root, add = example.calls
    assert [s.index for s in root.steps] == [0, 1, 2, 5]
    assert [s.index for s in add.steps] == [3, 4]
    assert add.first_step is example.steps[3]
    assert example.steps[3].call is add and example.steps[2].call is root


def test_model_events(example):
    [event] = example.events
    assert (event.kind, event.content, event.step) == (0, "5.5\n", 5)
    assert example.output() == "5.5\n" and example.output(2) == ""


def test_model_metadata(example):
    assert example.metadata["program"] == "/home/user/demo/five.py"
    assert example.trace_paths == ["/home/user/demo/five.py"]


def test_model_drop_last_step_and_early_values(tmp_path):
    events = copy.deepcopy(example_documents()[TRACE])
    events.insert(4, {"VariableName": "early"})
    events.insert(5, {"Value": {"variable_id": 0, "value": {
        "kind": "None", "type_id": 0}}})
    events.insert(-1, "DropLastStep")
    model = TraceModel(events)
    assert model.steps[0].values == {"early": None}
    assert len(model.steps) == 5 and model.root.steps[-1].index == 2


def test_model_call_args_attach_to_step_zero_when_no_step_moved():
    events = copy.deepcopy(example_documents()[TRACE])
    step_events = [i for i, e in enumerate(events) if "Step" in e]
    for index in reversed(step_events[1:4]):   # lines 3, 4 and 1 (add)
        del events[index]
    model = TraceModel(events)
    # the Call of add arrives when only step 0 exists: it stays with the
    # top-level call (the backend moves steps with index > 0 only)
    assert model.steps[0].call is model.root
    assert model.steps[0].values["a"] == 3


BIG = 2 ** 64


@pytest.mark.parametrize("record, expected", [
    ({"kind": "None", "type_id": 0}, None),
    ({"kind": "Bool", "b": True, "type_id": 1}, True),
    ({"kind": "Int", "i": -7, "type_id": 1}, -7),
    ({"kind": "String", "text": "h\u00e9", "type_id": 1}, "h\u00e9"),
    ({"kind": "Raw", "r": "2.5", "type_id": 1}, Raw("2.5")),
    ({"kind": "Error", "msg": "<unrepr>", "type_id": 1},
     ErrorValue("<unrepr>")),
    ({"kind": "BigInt", "b": "AQAAAAAAAAAA", "negative": False,
      "type_id": 1}, BIG),
    ({"kind": "BigInt", "b": "AQAAAAAAAAAA", "negative": True,
      "type_id": 1}, -BIG),
    ({"kind": "Sequence", "is_slice": False, "type_id": 1, "elements": [
        {"kind": "Tuple", "type_id": 1, "elements": [
            {"kind": "Int", "i": 1, "type_id": 1},
            {"kind": "None", "type_id": 0}]}]}, [(1, None)]),
])
def test_decode(record, expected):
    assert decode(record) == expected


def test_decode_struct():
    types = [None, {"kind": 6, "lang_type": "__main__.Point",
                    "specific_info": {"kind": "Struct", "fields": [
                        {"name": "x", "type_id": 0},
                        {"name": "y", "type_id": 0}]}}]
    record = {"kind": "Struct", "type_id": 1, "field_values": [
        {"kind": "Int", "i": 1, "type_id": 0},
        {"kind": "String", "text": "b", "type_id": 0}]}
    assert decode(record, types) == {"__type__": "__main__.Point",
                                     "x": 1, "y": "b"}


def test_decode_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="cannot decode"):
        decode({"kind": "Float", "f": 2.5, "type_id": 1})
