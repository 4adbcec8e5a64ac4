"""What python-ct records for the programs of tests/programs/.

Expected step sequences follow Python's line events: a step when a new line
starts (loop headers again on each iteration, `while` conditions when they
are checked again), plus, for every entry into a frame (call, module, class
body, generator resume), a step at the code's first line (co_firstlineno)
just before its Call. Returning creates no step.
"""

from conftest import EXAMPLES, PROGRAMS
from python_ct.trace_model import ERROR, STDERR, STDOUT, TYPE_KEY, Raw

MODULE = "<__main__>"


def lines(recording, program):
    """The lines of a program's steps, asserting no other file has any."""
    locations = recording.trace.locations()
    assert {name for name, _ in locations} == {program}
    return [line for _, line in locations]


def module_call(recording):
    """The module's call: the only child of the top-level call."""
    [module] = recording.trace.root.children
    return module


def called(recording):
    """The outline of the calls made by the module."""
    return ", ".join(c.outline() for c in module_call(recording).children)


def last_values(recording):
    return recording.trace.steps[-1].values


def lang_type(recording, step, name):
    return recording.trace.type_of(step.records[name])["lang_type"]


def test_five(record_program):
    """The example of the trace-format reference (§2.10), in full."""
    recording = record_program("five.py")
    trace = recording.trace
    program = str(PROGRAMS / "five.py")
    assert trace.raw_events[:4] == [
        {"Path": program},
        {"Function": {"path_id": 0, "line": 1, "name": "<toplevel>"}},
        {"Call": {"function_id": 0, "args": []}},
        {"Type": {"kind": 30, "lang_type": "None",
                  "specific_info": {"kind": "None"}}}]
    assert lines(recording, "five.py") == [1, 1, 3, 4, 1, 2, 5]
    two_and_a_half = Raw("2.5")
    assert [s.values for s in trace.steps] == [
        {}, {}, {}, {"x": 3, "a": 3, "b": two_and_a_half},
        {"a": 3, "b": two_and_a_half}, {"a": 3, "b": two_and_a_half},
        {"x": 3, "y": Raw("5.5")}]
    module = module_call(recording)
    [add] = module.children
    assert (module.line, module.path) == (1, program)
    assert (add.name, add.line, add.args, add.return_value) == (
        "add", 1, {"a": 3, "b": two_and_a_half}, Raw("5.5"))
    assert add.first_step is trace.steps[4]
    assert (trace.root.return_value, module.return_value) == (0, None)
    assert [(e.kind, e.metadata, e.content, e.step) for e in trace.events] \
        == [(STDOUT, "stdout", "5.5\n", 6)]
    step = trace.steps[6]
    assert trace.type_of(step.records["x"]) == {
        "kind": 7, "lang_type": "int", "specific_info": {"kind": "None"}}
    assert trace.type_of(step.records["y"]) == {
        "kind": 8, "lang_type": "float", "specific_info": {"kind": "None"}}


def test_metadata_and_paths(record_program, tmp_path):
    recording = record_program("argv.py", "one", "two words")
    metadata = recording.trace.metadata
    program = str(PROGRAMS / "argv.py")
    assert metadata["workdir"] == str(tmp_path)
    assert metadata["program"] == program
    assert metadata["args"] == ["one", "two words"]
    assert metadata["recorder"]["name"] == "python-ct"
    assert metadata["recorder"]["version"]
    assert metadata["exit_status"] == {"code": 0}
    assert recording.trace.trace_paths == [program]
    assert last_values(recording) == {"arguments": ["one", "two words"]}


def test_functions(record_program):
    recording = record_program("functions.py")
    assert lines(recording, "functions.py") == [
        1, 1, 5, 12, 19, 1, 2, 20, 1, 2, 21, 5, 6, 7, 8, 9,
        22, 12, 13, 14, 15, 14, 15, 14, 15, 14, 16, 23]
    calls = module_call(recording).children
    assert [(c.name, c.args, c.return_value) for c in calls] == [
        ("area", {"width": 3, "height": 2}, 6),
        ("area", {"width": 4, "height": 5}, 20),
        ("describe", {"name": "fruit", "items": ("apple", "pear"),
                      "sep": "/", "options": [("loud", True)]},
         "fruit: apple/pear ['loud']"),
        ("total", {"numbers": (1, 2, 3)}, 6)]
    total_return_step = calls[3].steps[-1]
    assert total_return_step.line == 16
    assert total_return_step.values == {"numbers": (1, 2, 3), "result": 6,
                                        "number": 3}
    assert last_values(recording) == {
        "small": 6, "large": 20, "label": "fruit: apple/pear ['loud']",
        "summed": 6}


def fib_outline(n):
    return "fib" if n < 2 else f"fib({fib_outline(n - 1)}, " \
                               f"{fib_outline(n - 2)})"


def test_recursion(record_program):
    recording = record_program("recursion.py")
    fib_order = [5, 4, 3, 2, 1, 0, 1, 2, 1, 0, 3, 2, 1, 0, 1]
    fib_lines = [line for n in fib_order
                 for line in ([7, 8, 9] if n < 2 else [7, 8, 10])]
    assert lines(recording, "recursion.py") == (
        [1, 1, 7, 13] + [1, 2, 4] * 3 + [1, 2, 3] + [14] + fib_lines)
    assert called(recording) == (
        f"factorial(factorial(factorial(factorial))), {fib_outline(5)}")
    factorials = recording.trace.calls_named("factorial")
    assert [(c.args, c.return_value) for c in factorials] == [
        ({"n": 4}, 24), ({"n": 3}, 6), ({"n": 2}, 2), ({"n": 1}, 1)]
    fibs = recording.trace.calls_named("fib")
    assert [c.args["n"] for c in fibs] == fib_order
    assert fibs[0].return_value == 5
    assert recording.trace.output() == "24\n5\n"


def test_classes(record_program):
    recording = record_program("classes.py")
    assert lines(recording, "classes.py") == [
        1, 1, 1, 1, 2, 5, 9, 9, 9, 10, 15, 19, 19, 19, 20, 22, 27,
        10, 11, 2, 3, 12, 13, 28, 22, 23, 24, 29, 5, 6, 15, 16, 30]
    assert called(recording) == ("Shape, Rect, Point, __init__(__init__), "
                                 "__init__, describe(area)")
    rect_init, shape_init = recording.trace.calls_named("__init__")[:2]
    empty_rect = {TYPE_KEY: "__main__.Rect"}
    assert rect_init.args == {"self": empty_rect, "width": 2, "height": 3}
    assert shape_init.args == {"self": empty_rect, "name": "rect"}
    rect = {TYPE_KEY: "__main__.Rect", "name": "rect", "width": 2,
            "height": 3}
    assert recording.trace.calls_named("area")[0].args == {"self": rect}
    final = recording.trace.steps[-1]
    assert final.values == {
        "rect": rect, "point": {TYPE_KEY: "__main__.Point", "x": 1, "y": 2},
        "text": "rect of area 6"}
    rect_type = recording.trace.type_of(final.records["rect"])
    assert rect_type["kind"] == 6
    assert [f["name"] for f in rect_type["specific_info"]["fields"]] == [
        "name", "width", "height"]


def test_closures(record_program):
    recording = record_program("closures.py")
    assert lines(recording, "closures.py") == [
        1, 1, 12, 1, 2, 4, 9, 13, 4, 6, 7, 14, 4, 6, 7, 15]
    make_counter, first, second = module_call(recording).children
    assert make_counter.args == {"start": 10}
    assert isinstance(make_counter.return_value, Raw)
    assert "increment" in make_counter.return_value.text
    inner = make_counter.steps[-1].values
    assert (inner["start"], inner["count"]) == (10, 10)
    assert isinstance(inner["increment"], Raw)
    assert [(c.short_name, c.args, c.return_value) for c in (first, second)] \
        == [("increment", {"step": 1}, 11), ("increment", {"step": 5}, 16)]
    assert first.steps[-1].values == {"step": 1, "count": 11}
    assert last_values(recording) == {"first": 11, "second": 16}


def test_comprehensions(record_program):
    recording = record_program("comprehensions.py")
    assert lines(recording, "comprehensions.py") == [
        1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 6]
    generators = module_call(recording).children
    assert [c.name for c in generators] == ["<genexpr>"] * 5
    assert [c.return_value for c in generators] == [1, 2, 3, 4, None]
    final = recording.trace.steps[-1]
    assert final.values == {
        "numbers": [1, 2, 3, 4], "squares": [1, 4, 9, 16], "evens": [2, 4],
        "names": [(1, "1"), (2, "2"), (3, "3"), (4, "4")], "total": 10}
    assert lang_type(recording, final, "evens") == "set"
    assert lang_type(recording, final, "names") == "dict"
    assert lang_type(recording, final, "numbers") == "list"


def test_generators(record_program):
    recording = record_program("generators.py")
    assert lines(recording, "generators.py") == [
        1, 1, 8, 15, 1, 2, 3, 1, 4, 2, 3, 1, 4, 2, 3, 1, 4, 2, 5, 16, 17,
        8, 9, 10, 18, 8, 11, 12, 9, 10, 19, 8, 11, 9, 20]
    calls = module_call(recording).children
    assert [c.name for c in calls] == ["countdown"] * 4 + ["pairs"] * 3
    countdowns, pairs = calls[:4], calls[4:]
    assert [c.return_value for c in countdowns] == [3, 2, 1, "done"]
    # on resume the arguments are read again: n -= 1 runs after the yield
    assert [c.args for c in countdowns] == [{"n": 3}, {"n": 3}, {"n": 2},
                                            {"n": 1}]
    assert [c.return_value for c in pairs] == [(0, "a"), (1, "b"), None]
    assert all(c.args == {"items": ["a", "b"]} for c in pairs)
    trace = recording.trace
    assert [(e.content, trace.steps[e.step].line) for e in trace.events] == [
        ("got hello\n", 12), ("[3, 2, 1] (0, 'a') (1, 'b') []\n", 20)]
    final = last_values(recording)
    assert (final["values"], final["first"], final["second"],
            final["rest"]) == ([3, 2, 1], (0, "a"), (1, "b"), [])


def test_generator_throw_and_close(record_program):
    recording = record_program("generator_throw.py")
    assert recording.stdout == "1\ncaught boom\nclosed\n"
    assert lines(recording, "generator_throw.py") == [
        1, 1, 9, 14, 15, 9, 10, 1, 2, 3, 16, 1, 5, 6, 17, 1, 9, 10, 18]
    # throw() and close() enter inner directly: `yield from` delegates in C
    assert called(recording) == "outer(inner), inner, inner, outer"
    returns = [c.return_value for c in module_call(recording).children]
    assert returns[:2] == [1, "caught boom"]


def test_coroutines(record_program):
    recording = record_program("coroutines.py")
    assert recording.stdout == "6\n"
    assert lines(recording, "coroutines.py") == [
        1, 1, 4, 9, 14, 9, 10, 4, 5, 4, 5, 4, 6, 4, 6, 9, 11]
    calls = module_call(recording).children
    assert [c.name for c in calls] == ["main"] + ["compute"] * 4 + ["main"]
    assert [c.args for c in calls[1:3]] == [{"x": 1}, {"x": 2}]
    assert [c.return_value for c in calls[3:]] == [2, 4, 6]


def test_implicit_calls_from_c(record_program):
    recording = record_program("implicit_calls.py")
    assert lines(recording, "implicit_calls.py") == [
        1, 1, 1, 1, 2, 5, 6, 5, 6, 9, 12, 15, 19, 2, 3, 20, 12, 13, 21, 5,
        7, 20, 15, 16, 22, 9, 10, 9, 10] + [23] * 7 + [24]
    assert called(recording) == (
        "Temperature, __init__, __enter__, fahrenheit, __exit__, __repr__, "
        "__repr__, <lambda>, <lambda>, <lambda>")
    calls = module_call(recording).children
    assert calls[3].return_value == Raw("212.0")
    assert [c.return_value for c in calls[-3:]] == [0, 1, 4]
    temperature = {TYPE_KEY: "__main__.Temperature", "_celsius": 100}
    assert last_values(recording) == {"t": temperature, "same": temperature,
                                      "f": Raw("212.0"), "squares": [0, 1, 4]}


def test_caught_exceptions(record_program):
    recording = record_program("exceptions.py")
    assert lines(recording, "exceptions.py") == [
        1, 1, 7, 16, 7, 8, 9, 1, 2, 4, 13, 7, 8, 9, 1, 2, 3, 10, 11, 13,
        17, 18, 19, 20, 21]
    assert called(recording) == "safe(risky), safe(risky)"
    first, second = module_call(recording).children
    assert (first.args, first.return_value) == ({"x": 1}, 2)
    assert (second.args, second.return_value) == ({"x": -1}, "negative")
    assert second.children[0].returned
    trace = recording.trace
    assert [(e.content, trace.steps[e.step].line) for e in trace.events] == [
        ("checked 1\n", 13), ("checked -1\n", 13),
        ("[2, 'negative', 'key']\n", 21)]
    assert trace.io_events(ERROR) == []
    assert last_values(recording) == {"results": [2, "negative", "key"]}


def test_uncaught_exception(record_program):
    recording = record_program("uncaught.py")
    assert recording.process.returncode == 1
    assert recording.stderr.endswith("ZeroDivisionError: division by zero\n")
    trace = recording.trace
    assert lines(recording, "uncaught.py") == [1, 1, 5, 6, 1, 2]
    [divide] = module_call(recording).children
    assert divide.args == {"a": 1, "b": 0} and divide.returned
    [error] = trace.io_events(ERROR)
    assert error.content == "ZeroDivisionError: division by zero"
    position = next(i for i, e in enumerate(trace.raw_events)
                    if e.get("Event", {}).get("kind") == ERROR)
    after = trace.raw_events[position + 1:]
    assert after == [] or (len(after) == 1 and "Return" in after[0])
    assert trace.metadata["exit_status"] == {"code": 1}
    assert trace.root.return_value == 1
    assert trace.io_events(STDOUT)[0].content == "before\n"


def test_exit_code(record_program):
    recording = record_program("exit_code.py")
    assert recording.process.returncode == 3
    assert recording.stdout == "exiting\n"
    assert lines(recording, "exit_code.py") == [1, 1, 4, 9, 4, 5, 6]
    assert recording.trace.metadata["exit_status"] == {"code": 3}
    assert recording.trace.root.return_value == 3
    [main] = module_call(recording).children
    assert main.name == "main" and main.returned


def test_output_events(record_program):
    recording = record_program("output.py")
    trace = recording.trace
    assert lines(recording, "output.py") == [1, 1, 3, 4, 5, 6, 7, 8, 7, 8,
                                             7, 9]
    assert [(e.kind, e.metadata, e.content, e.step) for e in trace.events] \
        == [(STDOUT, "stdout", "hi\n", 2),
            (STDERR, "stderr", "to stderr\n", 3),
            (STDOUT, "stdout", "part one, ", 4),
            (STDOUT, "stdout", "part two\n", 5),
            (STDOUT, "stdout", "loop 0\n", 7),
            (STDOUT, "stdout", "loop 1\n", 9),
            (STDOUT, "stdout", "unicode \u2713\n", 11)]
    assert recording.stdout == trace.output(STDOUT)
    assert recording.stderr == trace.output(STDERR)
    assert trace.steps[9].values == {"i": 1}


def test_unicode_and_lone_surrogates(record_program):
    recording = record_program("unicode_strings.py")
    final = recording.trace.steps[-1]
    greeting = "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f389"
    assert final.values["greeting"] == greeting
    assert final.values["escaped"] == "tab\tquote\"backslash\\newline\n"
    surrogate = final.values["surrogate"]
    assert surrogate.startswith("bad") and surrogate.endswith("byte")
    assert "\\udc80" in surrogate
    assert "\\udcff" in final.values["decoded"]
    assert final.values["raw_bytes"] == Raw(repr(b"\xff\x00ab"))
    assert lang_type(recording, final, "greeting") == "str"
    assert recording.trace.output() == greeting + "\n8 '\\udcff\\x00ab'\n"


def as_int(value):
    """A big int is recorded as BigInt (decoded to int) or Raw digits."""
    return int(value.text) if isinstance(value, Raw) else value


def test_big_ints(record_program):
    recording = record_program("big_ints.py")
    final = recording.trace.steps[-1]
    expected = {"small": 2 ** 62, "limit": 2 ** 63 - 1, "too_big": 2 ** 63,
                "lowest": -(2 ** 63), "below": -(2 ** 63) - 1,
                "huge": 3 ** 100}
    assert {k: as_int(v) for k, v in final.values.items()} == expected
    kinds = {name: record["kind"] for name, record in final.records.items()}
    assert {kinds[n] for n in ("small", "limit", "lowest")} == {"Int"}
    big_kinds = {kinds[n] for n in ("too_big", "below", "huge")}
    assert big_kinds <= {"BigInt", "Raw"}
    assert {lang_type(recording, final, n) for n in expected} == {"int"}


def test_scalars(record_program):
    recording = record_program("scalars.py")
    final = recording.trace.steps[-1]
    assert final.values == {
        "nothing": None, "yes": True, "no": False, "ratio": Raw("2.5"),
        "third": Raw("0.3333333333333333"), "infinity": Raw("inf"),
        "minus_infinity": Raw("-inf"), "not_a_number": Raw("nan"),
        "data": Raw("b'ab'"), "pair": (1, "two"), "items": [1, 2],
        "table": [("a", 1), ("b", [2, 3])], "unique": [7], "frozen": [8]}
    assert final.records["nothing"] == {"kind": "None", "type_id": 0}
    assert final.records["items"]["is_slice"] is False
    types = {name: (recording.trace.type_of(record)["kind"],
                    recording.trace.type_of(record)["lang_type"])
             for name, record in final.records.items()}
    assert types["ratio"] == types["not_a_number"] == (8, "float")
    assert types["yes"][1] == "bool"
    assert {name: types[name][1] for name in (
        "pair", "items", "table", "unique", "frozen")} == {
        "pair": "tuple", "items": "list", "table": "dict", "unique": "set",
        "frozen": "frozenset"}


def depth_until_marker(value):
    depth = 0
    while isinstance(value, list) and len(value) == 1:
        value, depth = value[0], depth + 1
    return depth, value


def test_containers(record_program):
    recording = record_program("containers.py")
    values = last_values(recording)
    assert values["nested"] == [("list", [1, [2, [3]]]),
                                ("tuple", (1, (2, 3)))]
    assert values["twice"] == [[1], [1]]
    one, two, cycle = values["looped"]
    assert (one, two) == (1, 2) and "cycle" in cycle.text
    (name, self_name), (me, cycle) = values["mapping"]
    assert (name, self_name, me) == ("name", "self", "me")
    assert "cycle" in cycle.text
    *head, marker = values["long_list"]
    assert head == list(range(len(head))) and len(head) < 1000
    assert "more" in marker.text
    depth, marker = depth_until_marker(values["deep"])
    assert depth < 200
    assert "\u2026" in marker.text or "..." in marker.text


def test_hostile_objects_are_not_called(record_program, run_unrecorded):
    program = PROGRAMS / "hostile.py"
    plain = run_unrecorded(program)
    assert plain.stdout == "calls: 0\n"
    recording = record_program("hostile.py")
    assert recording.stdout == plain.stdout
    assert recording.stderr == plain.stderr == ""
    trace = recording.trace
    assert trace.calls_named("betray") == []
    recorded_calls = [s.values["calls"] for s in trace.steps
                      if "calls" in s.values]
    assert recorded_calls and all(c == [] for c in recorded_calls)
    final = last_values(recording)
    assert final["hostile"] == {TYPE_KEY: "__main__.Hostile", "secret": 42}
    assert final["slots"][TYPE_KEY] == "__main__.HostileSlots"
    assert final["slots"]["a"] == 1


def test_only_user_code_is_recorded(record_program):
    recording = record_program("stdlib_callbacks.py")
    program = str(PROGRAMS / "stdlib_callbacks.py")
    assert recording.trace.trace_paths == [program]
    assert lines(recording, "stdlib_callbacks.py") == [
        1, 1, 2, 5, 9, 5, 6, 5, 6, 5, 6, 10, 11, 12]
    shouts = module_call(recording).children
    assert [(c.name, c.args, c.return_value) for c in shouts] == [
        ("shout", {"word": "b"}, "B"), ("shout", {"word": "a"}, "A"),
        ("shout", {"word": "c"}, "C")]
    assert last_values(recording) == {
        "words": ["a", "b", "c"], "text": '{"k": [1, 2]}',
        "short": "hello [...]"}


def test_file_writes_are_not_output(record_program):
    recording = record_program("file_output.py")
    trace = recording.trace
    assert [(e.kind, e.content) for e in trace.events] == [
        (STDOUT, "read 15\n")]
    assert last_values(recording)["text"] == "not for stdout\n"


def test_main_thread_calls_are_recorded(record_program):
    recording = record_program("threads.py")
    assert recording.stdout == "[4950, 45]\n"
    works = recording.trace.calls_named("work")
    assert [(c.args, c.return_value) for c in works][-1] == ({"n": 10}, None)
    assert last_values(recording)["results"] == [4950, 45]


def test_site_packages_are_not_recorded(record_program):
    recording = record_program("site_packages.py")
    assert recording.trace.trace_paths == [str(PROGRAMS / "site_packages.py")]
    assert lines(recording, "site_packages.py") == [1, 1, 4, 8, 4, 5, 9]
    assert called(recording) == "version_parts"


def test_imported_user_module(record_program):
    recording = record_program("importer.py")
    importer = str(PROGRAMS / "importer.py")
    helper = str(PROGRAMS / "helper_module.py")
    trace = recording.trace
    assert trace.trace_paths == [importer, helper]
    assert trace.locations() == [
        ("importer.py", 1), ("importer.py", 1), ("helper_module.py", 1),
        ("helper_module.py", 1), ("helper_module.py", 4), ("importer.py", 3),
        ("helper_module.py", 4), ("helper_module.py", 5), ("importer.py", 4)]
    helper_module, double = module_call(recording).children
    assert (helper_module.path, helper_module.line) == (helper, 1)
    assert helper_module.children == []
    assert (double.name, double.path, double.args, double.return_value) == (
        "double", helper, {"x": 21}, 42)
    assert trace.steps[4].values == {"FACTOR": 2}
    assert last_values(recording) == {"result": 42}


def test_recursion_error_unwinds_every_call(record_program):
    recording = record_program("recursion_error.py")
    assert recording.stdout == "caught RecursionError\n"
    dives = recording.trace.calls_named("dive")
    assert len(dives) > 100 and all(call.returned for call in dives)
    assert [call.args["depth"] for call in dives] == list(range(len(dives)))
    assert lines(recording, "recursion_error.py") == (
        [1, 1, 5, 6] + [1, 2] * len(dives) + [7, 8])


def test_module_call_is_named_after_the_module(record_program):
    assert module_call(record_program("five.py")).name == MODULE


def test_example_hello(record):
    recording = record(EXAMPLES / "hello.py")
    assert recording.process.returncode == 0
    assert recording.stdout == recording.trace.output()
    assert "greet" in {c.short_name for c in recording.trace.calls}
