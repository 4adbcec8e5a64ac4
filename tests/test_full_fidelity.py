"""The extension file: every assignment, every subexpression value,
exception events and the values sent into generators, with their exact
targets, values, source ranges and order (docs/trace-extension.md)."""

import pytest

from python_ct.extension import Extension
from python_ct.trace_model import TYPE_KEY, Raw


def extension(recording):
    return Extension.load(recording.folder)


def plain(value):
    """A decoded value with objects reduced to their type's name."""
    if isinstance(value, dict):
        return value[TYPE_KEY]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def stores(ext, function=None):
    """(target, value, (line, column, end_line, end_column)), with
    deletions as (target, "del", range)."""
    return [(a.target, "del" if a.deleted else plain(a.value),
             (a.site.line, a.site.column, a.site.end_line, a.site.end_column))
            for a in ext.assignments
            if function is None or a.site.function == function]


def test_every_kind_of_assignment(record_program):
    recording = record_program("assignments.py")
    assert recording.stdout == "(5, 2, 3, 4, 1, 1, True, 'k', [0, 1, 4]) 1\n"
    ext = extension(recording)
    assert stores(ext, "main") == [
        ("a", 1, (31, 4, 31, 5)),
        ("a", 3, (32, 4, 32, 5)),                   # a += 2
        # `b, c = a, 4` is one STORE_FAST_STORE_FAST, which CPython gives
        # the first target's range only.
        ("c", 4, (33, 7, 33, 8)),
        ("b", 3, (33, 7, 33, 8)),
        ("first", 1, (34, 4, 34, 9)),
        ("rest", [2, 3], (34, 4, 34, 9)),
        ("n", 2, (35, 8, 35, 9)),                   # walrus
        ("i", 0, (37, 8, 37, 9)),                   # for target, each time
        ("i", 1, (37, 8, 37, 9)),
        ("f", "_io.TextIOWrapper", (39, 30, 39, 31)),   # with ... as
        ("err", Raw("KeyError: k"), (43, 4, 44, 28)),   # except ... as
        ("caught", "k", (44, 8, 44, 14)),
        ("j", 0, (45, 25, 45, 26)),                 # comprehension variable
        ("j", 1, (45, 25, 45, 26)),
        ("j", 2, (45, 25, 45, 26)),
        ("squares", [0, 1, 4], (45, 4, 45, 11)),
        ("p", "__main__.Point", (46, 4, 46, 5)),
        ("p.x", 10, (47, 4, 47, 7)),
        ("Point.dims", 3, (48, 4, 48, 14)),
        ("d", [], (49, 4, 49, 5)),
        ("d['k']", 5, (50, 4, 50, 10)),
        ("d[2]", "two", (51, 4, 51, 8)),
        ("lst", [0, 1, 2, 3, 4], (52, 4, 52, 7)),
        ("lst[1:3]", ["x"], (53, 4, 53, 12)),
        ("lst[0]", "del", (54, 8, 54, 14)),
        ("d['k']", "del", (55, 8, 55, 14)),
        ("p.y", "del", (56, 8, 56, 11)),
        ("a", "del", (57, 8, 57, 9)),
    ]
    # `except ... as err` ends with a hidden `err = None; del err`: not the
    # program's assignments.
    assert [a.target for a in ext.assignments if a.target == "err"] == ["err"]
    assert stores(ext, "<__main__>")[:3] == [
        ("osp", Raw("<module 'posixpath'>"), (1, 0, 1, 21)),       # import as
        ("fl", Raw("<built-in function floor>"), (2, 0, 2, 28)),
        ("counter", 0, (4, 0, 4, 7))]
    # Class bodies: attributes named after the class, no compiler names.
    assert stores(ext, "Point") == [
        ("Point.dims", 2, (8, 4, 8, 8)),
        ("Point.__init__", Raw("<function Point.__init__>"), (10, 4, 12, 18))]
    assert stores(ext, "Point.__init__") == [
        ("self.x", 1, (11, 8, 11, 14)), ("self.y", 2, (12, 8, 12, 14))]
    assert stores(ext, "bump") == [("counter", 1, (17, 4, 17, 11))]     # global
    assert stores(ext, "outer.<locals>.add") == [
        ("total", 5, (25, 8, 25, 13))]                                  # nonlocal
    [store] = [a for a in ext.assignments if a.target == "lst[1:3]"]
    assert store.site.op == "STORE_SLICE" and store.keys == (1, 3)
    assert store.site.target == "lst[1:3]"
    [store] = ext.assignments_to("d[2]")
    assert store.site.target == "d[n]" and store.keys == (2,)


def test_stores_the_program_asked_for_without_running_its_code(record_program):
    """__setattr__, __setitem__, properties, slots and descriptors: the
    store as written is recorded, then whatever the hooks store; the hooks
    run only as often as without recording (the output shows it)."""
    recording = record_program("hostile_stores.py")
    assert recording.stdout == (
        "('handled', True) 42 37 1 5 [('setattr', 'x'), ('setitem', 'key'), "
        "'set', 'get']\n")
    ext = extension(recording)
    assert stores(ext, "<__main__>")[-10:] == [
        ("w", "__main__.Watched", (64, 0, 64, 1)),
        ("w.x", 21, (65, 0, 65, 3)),                # __setattr__ stores 42
        ("w['key']", "v", (66, 0, 66, 8)),          # __setitem__ stores nothing
        ("t", "__main__.Celsius", (67, 0, 67, 1)),
        ("t.c", 37, (68, 0, 68, 3)),                # a property setter
        ("s", "__main__.Slotted", (69, 0, 69, 1)),
        ("s.a", 1, (70, 0, 70, 3)),                 # a slot
        ("acct", "__main__.Account", (71, 0, 71, 4)),
        ("acct.balance", -5, (72, 0, 72, 12)),      # a data descriptor
        ("gen", Raw("<generator object>"), (73, 0, 73, 3)),
    ]
    order = [a.target for a in ext.assignments]
    # The setter's own store follows the store that triggered it.
    assert order.index("t.c") + 1 == order.index("self._c", order.index("t.c"))
    assert stores(ext, "Positive.__set__") == [
        ("obj.__dict__['_balance']", 5, (37, 8, 37, 31))]
    # Stores in a try, its except and its finally.
    assert stores(ext, "guarded") == [
        ("state", "start", (45, 4, 45, 9)),
        ("state", "trying", (47, 8, 47, 13)),
        ("state", "handled", (50, 8, 50, 13)),
        ("done", True, (52, 8, 52, 12))]
    # Stores in a generator, across its suspensions.
    assert stores(ext, "numbers") == [
        ("total", 0, (57, 4, 57, 9)),
        ("k", 0, (58, 8, 58, 9)),
        ("total", 0, (59, 8, 59, 13)),
        ("got", "hello", (60, 8, 60, 11)),
        ("last", "hello", (61, 8, 61, 12)),
        ("k", 1, (58, 8, 58, 9)),
        ("total", 1, (59, 8, 59, 13))]


def test_subexpression_values_in_evaluation_order(record_program):
    recording = record_program("subexpressions.py")
    assert recording.stdout == "(8, True, False, '  14|3', 1, 2, [20], {'a': 1})\n"
    ext = extension(recording)
    values = [(v.site.op, ext.source_text(v.site), plain(v.value))
              for v in ext.values if v.site.function == "main"]
    assert values == [
        ("LIST_EXTEND", "[3, 1, 2]", [3, 1, 2]),
        ("CALL", "Box([3, 1, 2])", "__main__.Box"),
        ("BINARY_OP", "y * 2", 10),
        ("BINARY_OP", "x + y * 2", 14),
        ("UNARY_NEGATIVE", "-x", -4),
        ("COMPARE_OP", "-x < y", True),
        ("LOAD_ATTR", "box.items", [3, 1, 2]),
        ("BINARY_SUBSCR", "box.items[0]", 3),
        # CPython gives the comparison under `not` the range of the `not`.
        ("COMPARE_OP", "not box.items[0] > 5", False),
        ("UNARY_NOT", "not box.items[0] > 5", True),
        ("BOOL_OP", "-x < y and not box.items[0] > 5", True),
        # never() is short-circuited: no value for it.
        ("COMPARE_OP", "x > 100", False),
        ("BOOL_OP", "x > 100 and never()", False),
        ("FORMAT_WITH_SPEC", "{total:>4}", "  14"),
        ("CALL", "box.size()", 3),
        ("CONVERT_VALUE", "{box.size()!r}", "3"),
        ("FORMAT_SIMPLE", "{box.size()!r}", "3"),
        ("BUILD_STRING", 'f"{total:>4}|{box.size()!r}"', "  14|3"),
        # Conditional expressions: the branch that ran, not the other.
        ("LOAD_ATTR", "box.items", [3, 1, 2]),
        ("BINARY_SUBSCR", "box.items[1]", 1),
        ("LOAD_ATTR", "box.items", [3, 1, 2]),
        ("BINARY_SUBSCR", "box.items[2]", 2),
        # A comprehension: its condition on each item, then its result.
        ("LOAD_ATTR", "box.items", [3, 1, 2]),
        ("BINARY_OP", "n % 2", 1),
        ("COMPARE_OP", "n % 2 == 0", False),
        ("BINARY_OP", "n % 2", 1),
        ("COMPARE_OP", "n % 2 == 0", False),
        ("BINARY_OP", "n % 2", 0),
        ("COMPARE_OP", "n % 2 == 0", True),
        ("BINARY_OP", "n * 10", 20),
        ("BUILD_LIST", "[n * 10 for n in box.items if n % 2 == 0]", [20]),
        ("BUILD_MAP", '{k: v for k, v in [("a", 1)]}', [("a", 1)]),
        # A loop: each iteration.
        ("LOAD_ATTR", "box.items", [3, 1, 2]),
        ("BINARY_OP", "total - n", 11),
        ("BINARY_OP", "total - n", 10),
        ("BINARY_OP", "total - n", 8),
        ("BUILD_TUPLE", "total, flag, skipped, label, pick, other, evens, doubled",
         (8, True, False, "  14|3", 1, 2, [20], [("a", 1)])),
    ]
    assert not [v for v in ext.values if v.site.function == "never"]
    # Values belong to the step of their line.
    trace = recording.trace
    [format_step] = {v.step for v in ext.values
                     if v.site.op == "FORMAT_WITH_SPEC"}
    assert trace.steps[format_step].line == 18
    assert [ext.source_text(v.site) for v in ext.values_at(format_step)] == [
        "{total:>4}", "box.size()", "{box.size()!r}", "{box.size()!r}",
        'f"{total:>4}|{box.size()!r}"']


def test_exception_events(record_program):
    recording = record_program("exception_flow.py")
    assert recording.stdout == "(('negative', -1), True)\n"
    ext = extension(recording)
    steps = recording.trace.steps
    assert [(e.kind, e.function, e.type, e.message, steps[e.step].line)
            for e in ext.exceptions] == [
        ("raise", "inner", "AppError", "negative, -1", 8),
        ("unwind", "inner", "AppError", "negative, -1", 8),
        ("propagate", "middle", "AppError", "negative, -1", 13),
        ("unwind", "middle", "AppError", "negative, -1", 13),
        ("propagate", "outer", "AppError", "negative, -1", 18),
        ("handled", "outer", "AppError", "negative, -1", 18),
        ("raise", "inner", "AppError", "negative, -2", 8),
        ("unwind", "inner", "AppError", "negative, -2", 8),
        ("propagate", "middle", "AppError", "negative, -2", 13),
        ("unwind", "middle", "AppError", "negative, -2", 13),
        ("propagate", "outer", "AppError", "negative, -2", 23),
        ("handled", "outer", "AppError", "negative, -2", 23),     # finally
        ("reraise", "outer", "AppError", "negative, -2", 25),     # its end
        ("handled", "outer", "AppError", "negative, -2", 25),     # except
        ("raise", "outer", "KeyError", "missing", 30),
        ("handled", "outer", "KeyError", "missing", 30),
        ("reraise", "outer", "KeyError", "missing", 32),          # bare raise
        ("handled", "outer", "KeyError", "missing", 32),
    ]


def test_uncaught_exception_ends_the_extension(record_program):
    recording = record_program("uncaught.py")
    ext = extension(recording)
    kinds = [(e.kind, e.function, e.type, e.message) for e in ext.exceptions]
    assert kinds == [
        ("raise", "divide", "ZeroDivisionError", "division by zero"),
        ("unwind", "divide", "ZeroDivisionError", "division by zero"),
        ("propagate", "<__main__>", "ZeroDivisionError", "division by zero"),
        ("unwind", "<__main__>", "ZeroDivisionError", "division by zero"),
        ("uncaught", None, "ZeroDivisionError", "division by zero")]
    assert ext.exceptions[-1].step == len(recording.trace.steps) - 1


def test_generator_values_sent_in_and_yielded_out(record_program):
    recording = record_program("generator_values.py")
    assert recording.stdout == "12 6\n"
    ext = extension(recording)
    sent = [(ext.source_text(v.site), v.value) for v in ext.values
            if v.site.op == "YIELD_VALUE"]
    assert sent == [("yield total", 5), ("yield total", 7), ("yield total", None)]
    history = ext.history("total", "accumulate")
    assert [value for _, value in history] == [0, 5, 12]
    assert [recording.trace.steps[step].line for step, _ in history] == [5, 10, 10]
    # Yielded values are the returns of the generator's resumptions.
    accumulate = recording.trace.calls_named("accumulate")
    assert [c.return_value for c in accumulate] == [0, 5, 12, 12]
    assert [value for _, value in ext.history("first", "gather")] == [2]
    assert [value for _, value in ext.history("second", "gather")] == [4]


@pytest.mark.parametrize("switches, kinds", [
    ({}, {"assign", "value"}),
    ({"CODETRACER_SUBEXPRESSIONS": "0"}, {"assign"}),
    ({"CODETRACER_ASSIGNMENTS": "0"}, {"value"}),
    ({"CODETRACER_ASSIGNMENTS": "0", "CODETRACER_SUBEXPRESSIONS": "0"}, set()),
])
def test_switches(record_program, switches, kinds):
    recording = record_program("subexpressions.py", env=switches)
    ext = extension(recording)
    recorded = set()
    if ext.assignments:
        recorded.add("assign")
    if ext.values:
        recorded.add("value")
    assert recorded == kinds
    assert recording.trace.calls_named("main")[0].args == {"x": 4, "y": 5}


def test_compiler_details_do_not_show(record_program):
    """Values and stores the compiler adds are left out; values consumed
    where a new line starts stay on the step of their own line."""
    recording = record_program("tricky_values.py")
    assert recording.stdout == (
        "(1, 2) 1 (5, [0, 1]) ([1, 2, 3], {'x': 1, 'y': 2}, (1, 3))\n")
    ext = extension(recording)
    steps = recording.trace.steps
    # A call spread over lines: each argument on the step of its line.
    assert [(ext.source_text(v.site), v.value, steps[v.step].line)
            for v in ext.values if v.site.function == "<__main__>"][:3] == [
        ("alpha(1)", 1, 37), ("alpha(2)", 2, 38),
        ("compute(\n    alpha(1),\n    alpha(2),\n)", (1, 2), 36)]
    # The program's own `x = None; del x` is kept.
    assert stores(ext, "cleared") == [
        ("x", None, (10, 4, 10, 5)), ("x", "del", (11, 8, 11, 9)),
        ("y", 1, (12, 4, 12, 5))]
    # The comprehension's variable, but not the outer x it puts back.
    assert [(a.target, a.value) for a in ext.assignments
            if a.site.function == "shadow"] == [
        ("x", 5), ("x", 0), ("x", 1), ("r", [0, 1])]
    # Displays with starred parts: the finished value only.
    assert [(ext.source_text(v.site), v.value) for v in ext.values
            if v.site.function == "displays"] == [
        ("[1, 2, *a]", [1, 2, 3]),
        ('{"x": 1, **b}', [("x", 1), ("y", 2)]),
        ("(1, *a)", (1, 3)),
        ("items, merged, packed", ([1, 2, 3], [("x", 1), ("y", 2)], (1, 3)))]
    # throw() is recorded once, not also as a raise at the yield.
    assert [(e.kind, e.function, e.type) for e in ext.exceptions] == [
        ("throw", "thrower", "KeyError"), ("handled", "thrower", "KeyError")]
