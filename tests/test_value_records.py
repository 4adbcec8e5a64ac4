"""Values recorded at each step equal the program's values at that step,
with containers and instances changed in place between steps, at any depth
(the encoder copies the kept record of an unchanged container instead of
encoding it again), in trace.json and in trace.ct; and a value's size
limit (CODETRACER_VALUE_NODES) cuts it evenly."""

import contextlib
import io
import json
import runpy
import subprocess

import pytest

from conftest import PROGRAMS, program_env, run
from python_ct.trace_model import TYPE_KEY, Raw

# Each program, the variables of its main() compared, and how many values
# each of them takes.
CHANGING = {
    "mutated_containers.py": {"xs": 13, "counts": 18, "pair": 7, "words": 11,
                              "total": 3001, "wave": 3000},
    "nested_mutations.py": {"points": 27, "grid": 25, "pair": 35, "bag": 20, "twins": 3},
    "cut_mutations.py": {"deep": 23, "ring": 26, "chain": 16, "short": 14},
    "spliced_containers.py": {"table": 18, "rows": 22, "grid": 8, "log": 5, "pair": 2,
                              "nest": 1, "record": 9, "view": 9},
}

# Run by the stock interpreter: the locals of main() at each of its line
# events, in the form trace_model.decode gives them (floats as their repr,
# a dict as its (key, value) pairs).
ORACLE = r"""
import json, sys, types

def plain(value, depth=0, path=()):
    if isinstance(value, float):
        return {"raw": repr(value)}
    if isinstance(value, types.FunctionType):
        return {"raw": "<function %%s>" %% value.__qualname__}
    if isinstance(value, types.CodeType):
        return {"raw": "<code object>"}
    if isinstance(value, (dict, list, tuple)) or hasattr(type(value), "__slots__") \
            or hasattr(value, "__dict__"):
        # The recorder's nesting limit, and its marker of a cycle.
        if id(value) in path:
            return {"raw": "<cycle>"}
        if depth >= 6:
            return {"raw": "\u2026"}
        depth, path = depth + 1, path + (id(value),)
    if isinstance(value, dict):
        return [[plain(k, depth, path), plain(v, depth, path)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [plain(v, depth, path) for v in value]
    if hasattr(type(value), "__slots__") or hasattr(value, "__dict__"):
        cls = type(value)
        fields = {"__type__": cls.__module__ + "." + cls.__qualname__}
        for base in reversed(cls.__mro__):
            for name in base.__dict__.get("__slots__", ()):
                if hasattr(value, name):
                    fields[name] = plain(getattr(value, name), depth, path)
        for name, field in getattr(value, "__dict__", {}).items():
            fields[name] = plain(field, depth, path)
        return fields
    return value

snapshots = []
def tracer(frame, event, arg):
    if frame.f_code.co_name == "main":
        if event == "line":
            snapshots.append({name: plain(frame.f_locals[name])
                              for name in %r if name in frame.f_locals})
        return tracer
    return None

sys.argv = [%r]
sys.settrace(tracer)
exec(compile(open(%r).read(), %r, "exec"), {"__name__": "__main__"})
sys.settrace(None)
print(json.dumps(snapshots))
"""


def plain(value):
    """A decoded value in the oracle's form."""
    if isinstance(value, Raw):
        return {"raw": value.text}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {name: plain(field) for name, field in value.items()}
    return value


def changes(snapshots, variables):
    """Each variable's successive values, repeats dropped (an instance's
    fields in another order are not a repeat)."""
    history = {name: [] for name in variables}
    for snapshot in snapshots:
        for name, value in snapshot.items():
            if not history[name] or json.dumps(history[name][-1]) != json.dumps(value):
                history[name].append(value)
    return history


def oracle_snapshots(stock_python, program, variables):
    """The oracle's snapshot of `variables` at each line event of main()."""
    code = ORACLE % (tuple(variables), str(program), str(program), str(program))
    output = subprocess.run([str(stock_python), "-c", code], capture_output=True,
                            text=True, check=True).stdout
    return json.loads(output.splitlines()[-1])


def expected(stock_python, program):
    variables = tuple(CHANGING[program.name])
    return changes(oracle_snapshots(stock_python, program, variables), variables)


def recorded_in_main(record, stock_python, program, format, variables):
    """Record `program` (printing what stock CPython prints): `variables`
    at each step of main(), in the oracle's form."""
    recording = record(program, env={"CODETRACER_FORMAT": format})
    stock = subprocess.run([str(stock_python), str(program)], capture_output=True,
                           text=True, check=True)
    assert recording.stdout == stock.stdout
    return [{name: plain(value) for name, value in step.values.items() if name in variables}
            for step in recording.trace.steps if step.call.short_name == "main"]


@pytest.mark.parametrize("format", ["json", "ctfs"])
@pytest.mark.parametrize("program_name", sorted(CHANGING))
def test_values_follow_changes_made_in_place(record, stock_python, program_name, format):
    program = PROGRAMS / program_name
    variables = CHANGING[program_name]
    recorded = changes(recorded_in_main(record, stock_python, program, format, variables),
                       variables)
    oracle = expected(stock_python, program)
    assert recorded == oracle
    # Fields in the order the instance has them (a dict's equality would
    # not see it).
    assert json.dumps(recorded) == json.dumps(oracle)
    # The oracle saw every kind of change (in place, appended and popped,
    # deleted, cleared, rebinding, a class renamed or replaced, fields
    # reordered, elements shifted, swapped or moved to the end; thousands
    # of floats).
    assert {name: len(values) for name, values in oracle.items()} == variables


# Programs whose lines that move locals (the encoder keeps what it found
# current across a step on such a line, quiet_lines.h) are made to change
# what main() shows by other means, and the variables compared.
UNQUIET = {
    "quiet_lines.py": ("log", "seen", "n", "item"),
    "watched_lines.py": ("lines", "a", "b", "c"),
}


@pytest.mark.parametrize("format", ["json", "ctfs"])
@pytest.mark.parametrize("program_name", sorted(UNQUIET))
def test_each_step_shows_what_code_run_beside_the_line_changed(record, stock_python,
                                                               program_name, format):
    """Each step shows the values as the program has them, also right after
    a line that only moves locals, takes a loop's item or adds ints, when
    that line drops the last reference to an object with a finalizer, takes
    its item from an iterator that calls a function, ends a loop (freeing
    its list), or runs under another sys.monitoring tool's callback."""
    program = PROGRAMS / program_name
    variables = UNQUIET[program_name]
    recorded = recorded_in_main(record, stock_python, program, format, variables)
    # The first step is the call's, on the def line: no line event.
    assert recorded[1:] == oracle_snapshots(stock_python, program, variables)


@pytest.mark.parametrize("format", ["json", "ctfs"])
def test_floats_show_as_repr_shows_them(record, format):
    """Each float shows as its repr(): short decimals, arithmetic results,
    random bit patterns around the bounds of the recorder's own
    shortest-repr code and of repr()'s exponent form, powers of two and
    their neighbours, and the floats it leaves to CPython (tiny, huge,
    infinite, NaN, -0.0)."""
    recording = record(PROGRAMS / "float_texts.py", env={"CODETRACER_FORMAT": format})
    texts = recording.stdout.split()
    assert len(texts) == 6024
    recorded = [step.values["value"] for step in recording.trace.steps
                if step.line == 26 and step.call.short_name == "main"]
    assert [value.text for value in recorded] == texts


def test_renamed_class_shows_its_new_name(record, tmp_path):
    """The type of an opaque instance, a builtin subclass or an instance
    with fields is named once per class and looked up after, until the
    class changes its name or its module."""
    program = tmp_path / "renamed.py"
    program.write_text(
        "class Opaque:\n"
        "    __slots__ = ()\n"
        "class Number(int):\n"
        "    pass\n"
        "class Point:\n"
        "    def __init__(self):\n"
        "        self.x = 1\n"
        "thing, number, point = Opaque(), Number(7), Point()\n"
        "Opaque.__qualname__ = 'Renamed'\n"
        "Number.__qualname__ = 'Count'\n"
        "Point.__qualname__ = 'Place'\n"
        "Point.__module__ = 'geo'\n"
        "print(type(thing).__qualname__, type(number).__qualname__, type(point).__qualname__)\n")
    recording = record(program)
    assert recording.stdout == "Renamed Count Place\n"
    steps = recording.trace.steps
    kinds = [tuple(recording.trace.type_of(step.records[name])["lang_type"]
                   for name in ("thing", "number", "point"))
             for step in steps if "thing" in step.records]
    assert kinds == [("__main__.Opaque", "__main__.Number", "__main__.Point"),
                     ("__main__.Renamed", "__main__.Number", "__main__.Point"),
                     ("__main__.Renamed", "__main__.Count", "__main__.Point"),
                     ("__main__.Renamed", "__main__.Count", "__main__.Place"),
                     ("__main__.Renamed", "__main__.Count", "geo.Place")]
    texts = [step.values["thing"].text for step in steps if "thing" in step.values]
    assert texts == ["<__main__.Opaque object>"] + ["<__main__.Renamed object>"] * 4



@pytest.mark.parametrize("format", ["json", "ctfs"])
def test_arguments_stay_whole_when_the_output_is_handed_over_within_them(record, tmp_path,
                                                                          format):
    """A call's arguments are encoded beside the trace's output, and a type
    they meet first goes to the output at once, which may hand it over to
    the writer thread: a list that copies its unchanged elements from its
    old record, in the output, must find that record where it went.  The
    long class names make their Type events what fills the output."""
    program = tmp_path / "handover.py"
    program.write_text(
        "def f(items):\n"
        "    return len(items)\n"
        "def main():\n"
        "    items = [1, 2, None, 3, 4]\n"
        "    for i in range(3000):\n"
        "        items[1] = i % 2\n"
        "        cls = type('C%d_%s' % (i, 'x' * 4000), (), {})\n"
        "        items[2] = cls(); f(items)\n"
        "main()\n")
    recording = record(program, env={"CODETRACER_FORMAT": format,
                                     "CODETRACER_ASSIGNMENTS": "0",
                                     "CODETRACER_SUBEXPRESSIONS": "0"})
    calls = []
    pending = [recording.trace.root]
    while pending:
        call = pending.pop()
        calls += [child for child in call.children if child.short_name == "f"]
        pending += call.children
    assert len(calls) == 3000
    shown = [(items[0], items[1], items[2]["__type__"].split("_x")[0], items[3], items[4])
             for items in (call.args["items"] for call in calls)]
    assert shown == [(1, i % 2, f"__main__.C{i}", 3, 4) for i in range(3000)]


@pytest.mark.parametrize("format", ["json", "ctfs"])
def test_dropped_classes_are_freed(record, run_unrecorded, format):
    """The type caches do not keep a class alive: classes made in a
    function, whose instances were recorded, are collected when the program
    drops them, as without recording (their finalizers run, and their base
    class no longer lists them)."""
    program = PROGRAMS / "class_lifetimes.py"
    plain = run_unrecorded(program)
    assert plain.stdout.splitlines()[1:] == [
        "subclasses left 0",
        "collected ['Empty 0', 'Empty 1', 'Empty 2', 'Numbers 0', 'Numbers 1', "
        "'Numbers 2', 'Point 0', 'Point 1', 'Point 2']"]
    recording = record(program, env={"CODETRACER_FORMAT": format})
    assert recording.stdout == plain.stdout
    trace = recording.trace
    made = [step for step in trace.steps
            if step.call.short_name == "make" and "empty" in step.values]
    assert sorted({(step.values["point"]["x"], step.values["numbers"][0])
                   for step in made}) == [(0, 0), (1, 1), (2, 2)]
    local = "__main__.make.<locals>."
    assert {(step.values["point"][TYPE_KEY],
             trace.type_of(step.records["numbers"])["lang_type"],
             step.values["empty"][TYPE_KEY]) for step in made} == {
        (local + "Point", local + "Numbers", local + "Empty")}

ELLIPSIS = Raw("\u2026")
TABLE = """
class Box:
    def __init__(self, rows):
        self.rows = rows
        self.name = "box"

table = [[10 * i + j for j in range(50)] for i in range(50)]
box = Box(table)
print(len(box.rows))
"""


def recorded_table(record, tmp_path, **env):
    """The values of `table` and `box` at the last step of TABLE."""
    program = tmp_path / "table.py"
    program.write_text(TABLE)
    recording = record(program, env=env)
    assert recording.stdout == "50\n"
    step = [step for step in recording.trace.steps if "box" in step.values][-1]
    return step.values["table"], step.values["box"]


def shown(rows):
    """The numbers of each row that are not cut."""
    return [[x for x in row if x != ELLIPSIS] for row in rows]


@pytest.mark.parametrize("format", ["json", "ctfs"])
def test_value_size_limit_is_shared_evenly(record, tmp_path, format):
    """A 2,551-node value shows 1,000 nodes by default: every row, each cut
    to an even share, not the first rows whole and the others elided."""
    table, box = recorded_table(record, tmp_path, CODETRACER_FORMAT=format)
    assert len(table) == 50
    kept = shown(table)
    assert 1 + len(table) + sum(map(len, kept)) == 1000
    assert {len(row) for row in kept} == {18, 19}
    assert all(row == [10 * i + j for j in range(len(row))] for i, row in enumerate(kept))
    assert all(row[len(k):] == [ELLIPSIS] * (50 - len(k)) for row, k in zip(table, kept))
    # A scalar field takes one node; the rows take the rest, not half.
    assert box["name"] == "box"
    assert 3 + 50 + sum(map(len, shown(box["rows"]))) == 1000


def test_value_size_limit_is_an_option(record, tmp_path):
    """CODETRACER_VALUE_NODES=10: the table and 9 rows, each with no room
    for its numbers; the other rows are elided."""
    table, box = recorded_table(record, tmp_path, CODETRACER_VALUE_NODES="10")
    assert table[:9] == [[ELLIPSIS] * 50] * 9
    assert table[9:] == [ELLIPSIS] * 41
    assert box["name"] == "box" and box["rows"][:7] == [[ELLIPSIS] * 50] * 7
    table, box = recorded_table(record, tmp_path, CODETRACER_VALUE_NODES="2553")
    assert table == box["rows"] == [[10 * i + j for j in range(50)] for i in range(50)]



CYCLE = Raw("<cycle>")


def model(value, limit, max_depth=6):
    """What the recorder shows of `value` (ints, lists and instances) under
    the size limit `limit`, by the rules of docs/trace-format.md "Limits":
    one value to each int, an even share of the rest to each other element,
    a cut past the nesting limit, a marker for a cycle."""
    used = 0
    open_containers = []

    def show(obj, end):
        nonlocal used
        if used >= end:
            return ELLIPSIS
        used += 1
        if isinstance(obj, int):
            return obj
        if any(o is obj for o in open_containers):
            return CYCLE
        if len(open_containers) >= max_depth:
            return ELLIPSIS
        open_containers.append(obj)
        elements = obj if isinstance(obj, list) else list(vars(obj).values())
        leaves = sum(isinstance(x, int) for x in elements)
        others = len(elements) - leaves
        shown = []
        for x in elements:
            if isinstance(x, int):
                leaves -= 1
                shown.append(show(x, end))
            else:
                room = end - used - leaves
                share = used + (-(-room // others) if room > 0 else 0)
                others -= 1
                shown.append(show(x, share))
        open_containers.pop()
        if isinstance(obj, list):
            return shown
        return {TYPE_KEY: "__main__." + type(obj).__qualname__, **dict(zip(vars(obj), shown))}
    return show(value, limit)


@pytest.mark.parametrize("format", ["json", "ctfs"])
@pytest.mark.parametrize("limit", [5, 12, 30, 1000])
def test_shared_containers_show_as_if_encoded_again(record, format, limit):
    """A container that several variables or elements of one step (or
    arguments of one call) show is encoded once and then copied; each copy
    shows what encoding it again would, where other limits or an open
    cycle cut it differently."""
    program = PROGRAMS / "shared_values.py"
    recording = record(program, env={"CODETRACER_FORMAT": format,
                                     "CODETRACER_VALUE_NODES": str(limit)})
    assert recording.stdout == "3\n"
    with contextlib.redirect_stdout(io.StringIO()):
        g = runpy.run_path(str(program))
    steps = recording.trace.steps
    module = [s for s in steps if s.call.short_name == "<__main__>" and "everything" in s.values]
    names = ("leaf", "pair", "tree", "ring", "outer", "inner", "everything")
    assert {name: module[-1].values[name] for name in names} == {
        name: model(g[name], limit) for name in names}
    call = recording.trace.calls_named("look")
    assert [c.args for c in call] == [{
        "first": model(g["tree"], limit), "second": model(g["pair"], limit),
        "nested": model(g["everything"], limit)}]
    last = [s for s in steps if s.call.short_name == "look"][-1]
    assert last.values == {
        "first": model(g["tree"], limit), "second": model(g["pair"], limit),
        "nested": model(g["everything"], limit),
        "both": model([g["tree"], g["pair"], [g["everything"]]], limit)}

@pytest.mark.parametrize("value", ["0", "-5", "ten", "1e3", "100000001"])
def test_bad_value_size_limit_is_refused(python_ct, tmp_path, value):
    folder = tmp_path / "trace"
    env = program_env(CODETRACER_DB_TRACE_PATH=str(folder), CODETRACER_VALUE_NODES=value)
    process = run([python_ct, str(PROGRAMS / "five.py")], env, tmp_path)
    assert (process.returncode, process.stdout) == (2, "")
    assert process.stderr == ("python-ct: CODETRACER_VALUE_NODES must be a whole number "
                              f"from 1 to 100000000, not '{value}'\n")
    assert not folder.exists()
