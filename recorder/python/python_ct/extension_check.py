"""Validate a trace_extension.jsonl against the trace.json beside it (or
a trace_extension.jsonl.zst, the same lines as zstd frames, against the
trace.ct beside it).

The rules are those of docs/trace-extension.md: the first line is the
format line; every other line is one JSON array, a known record with
exactly its fields, each of the right type; site ids are 0, 1, 2, ... in
the order of definition and defined before their first use; steps, function
ids and path ids index the Step, Function and Path events of trace.json;
kinds and opcode names are known; values are recorded on value sites,
assignments on store sites, deletions on delete sites, with as many keys as
the site's opcode takes; ValueRecords are valid against trace.json's types
(the same check trace_check makes).  A last line cut short by a crash is
not a problem, nor is a last zstd frame cut short.

Library use: check_extension(path, types, function_count, path_count,
             step_count) -> list of problems (empty: valid); trace_check's
             check_trace_folder calls it when the file is present.
             read_extension(path) -> the file's lines as bytes,
             decompressed if its name ends in .zst.
"""

import re
from pathlib import Path

from python_ct.ctfs import CtfsError, read_zstd
from python_ct.record_check import (FIELD_KINDS, MAX_PROBLEMS, RecordChecker,
                                    has_lone_surrogate, is_int, parse_json,
                                    short)

EXTENSION_FILE = "trace_extension.jsonl"               # beside trace.json
COMPRESSED_EXTENSION_FILE = EXTENSION_FILE + ".zst"     # beside trace.ct
# The extension file that goes with each trace file.
EXTENSION_FILES = {"trace.json": EXTENSION_FILE, "trace.ct": COMPRESSED_EXTENSION_FILE}
FORMAT_LINE = ["format", "python-ct-extension", 1]

VALUE_OPS = {
    "BINARY_OP", "COMPARE_OP", "CONTAINS_OP", "IS_OP", "UNARY_NEGATIVE",
    "UNARY_INVERT", "UNARY_NOT", "CALL", "CALL_KW", "CALL_FUNCTION_EX",
    "BINARY_SUBSCR", "BINARY_SLICE", "BUILD_TUPLE", "BUILD_CONST_KEY_MAP",
    "BUILD_STRING", "FORMAT_SIMPLE", "FORMAT_WITH_SPEC", "CONVERT_VALUE",
    "BUILD_LIST", "BUILD_SET", "BUILD_MAP", "LIST_EXTEND", "SET_UPDATE",
    "DICT_UPDATE", "LOAD_ATTR", "LOAD_SUPER_ATTR", "CALL_INTRINSIC_1",
    "YIELD_VALUE", "BOOL_OP",
}
STORE_OPS = {
    "STORE_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST",
    "STORE_NAME", "STORE_GLOBAL", "STORE_DEREF", "STORE_ATTR",
    "STORE_SUBSCR", "STORE_SLICE",
}
DELETE_OPS = {
    "DELETE_FAST", "DELETE_NAME", "DELETE_GLOBAL", "DELETE_DEREF",
    "DELETE_ATTR", "DELETE_SUBSCR",
}
SITE_OPS = {"value": VALUE_OPS, "store": STORE_OPS, "delete": DELETE_OPS}
KEY_COUNTS = {"STORE_SUBSCR": 1, "DELETE_SUBSCR": 1, "STORE_SLICE": 2}
# Only a \ud800-\udfff escape can put a lone surrogate into a line.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
EXCEPTION_KINDS = {"raise", "propagate", "handled", "reraise", "unwind",
                   "throw", "uncaught"}

# The fields after the tag; assign and delete records end with the keys.
RECORD_FIELDS = {
    "site": (("id", "id"), ("kind", "str"), ("op", "str"),
             ("function_id", "id"), ("path_id", "id"),
             ("line", "id_or_unknown"), ("column", "id_or_unknown"),
             ("end_line", "id_or_unknown"), ("end_column", "id_or_unknown"),
             ("target", "target")),
    "value": (("step", "id"), ("site", "id"), ("value", "object")),
    "assign": (("step", "id"), ("site", "id"), ("value", "object")),
    "delete": (("step", "id"), ("site", "id")),
    "exception": (("step", "id"), ("kind", "str"),
                  ("function_id", "id_or_unknown"), ("type", "str"),
                  ("message", "str")),
}
SITE_KIND_OF_RECORD = {"value": "value", "assign": "store",
                       "delete": "delete"}


class _ExtensionChecker(RecordChecker):
    """Walks the file once, keeping the sites defined so far."""

    field_kinds = {
        **FIELD_KINDS,
        "id_or_unknown": (lambda x: is_int(x) and x >= -1,
                          "an unsigned integer or -1"),
        "target": (lambda x: x is None or isinstance(x, str),
                   "a string or null"),
    }

    def __init__(self, name, types, function_count, path_count,
                 step_count):
        super().__init__(name, types)
        self.name = name
        self.trace_file = next((trace for trace, extension in EXTENSION_FILES.items()
                                if extension == name), "trace.json")
        self.function_count = function_count
        self.path_count = path_count
        self.step_count = step_count
        self.sites = {}            # id -> (kind, op)
        self.next_site = 0

    def in_range(self, what, value, count, table):
        if value >= count:
            self.problem(f"{what} {value} is not a {table} of {self.trace_file} "
                         f"(it has {count})")

    def run(self, lines, cut_short):
        """Check the file's lines (bytes, without their newlines); if
        `cut_short`, the last one lacks its newline."""
        if not lines:
            self.problem("lacks the format line")
        for number, line in enumerate(lines, 1):
            self.where = f"{self.name} line {number}"
            try:
                record = parse_json(line)
            except ValueError as error:
                if not (cut_short and number == len(lines)):
                    self.problem(f"not valid JSON: {error}")
                continue
            if SURROGATE_ESCAPE.search(line) and has_lone_surrogate(record):
                self.problem("a string holds a lone surrogate")
            if number == 1:
                if record != FORMAT_LINE or not is_int(record[2]):
                    self.problem(f"must be the format line "
                                 f"{short(FORMAT_LINE)}")
            else:
                self.check_record(record)
            if len(self.problems) >= MAX_PROBLEMS:
                self.where = self.name
                self.problem("too many problems, stopped checking")
                return

    def check_record(self, record):
        if not (isinstance(record, list) and record
                and isinstance(record[0], str) and record[0] in RECORD_FIELDS):
            self.problem(f"not a known record: {short(record)}")
            return
        tag, fields, values = record[0], RECORD_FIELDS[record[0]], record[1:]
        keyed = tag in ("assign", "delete")
        if len(values) < len(fields) or (len(values) > len(fields)
                                         and not keyed):
            keys = " and its keys" if keyed else ""
            self.problem(f"{tag} must have {len(fields)} fields{keys}, "
                         f"has {len(values)}")
            return
        # A list, not a generator: every bad field is reported.
        if all([self.kind_ok(value, kind, f"{tag}.{name}")
                for value, (name, kind) in zip(values, fields)]):
            getattr(self, f"on_{tag}")(*record[1:])

    def on_site(self, site_id, kind, op, function_id, path_id, line, column,
                end_line, end_column, target):
        if site_id in self.sites:
            self.problem(f"site {site_id} is defined again")
            return
        if site_id != self.next_site:
            self.problem(f"site {site_id} is defined out of order "
                         f"(expected {self.next_site})")
        self.sites[site_id] = (kind, op)
        self.next_site = site_id + 1
        if kind not in SITE_OPS:
            self.problem(f"unknown site kind {short(kind)}")
        elif op not in SITE_OPS[kind]:
            self.problem(f"{op!r} is not an opcode of a {kind} site")
        if (target is None) != (kind == "value"):
            self.problem("target must be null for a value site and a "
                         "string for a store or delete site")
        self.in_range("function_id", function_id, self.function_count,
                      "Function")
        self.in_range("path_id", path_id, self.path_count, "Path")

    def site_op(self, tag, site_id):
        """The opcode of the site a record uses (None if the site is not
        defined), after checking that the site is of the record's kind."""
        if site_id not in self.sites:
            self.problem(f"site {site_id} is used before its definition")
            return None
        kind, op = self.sites[site_id]
        if kind in SITE_OPS and kind != SITE_KIND_OF_RECORD[tag]:
            self.problem(f"{tag} record on site {site_id}, a {kind} site")
        return op

    def on_value(self, step, site_id, value):
        self.in_range("step", step, self.step_count, "Step")
        self.site_op("value", site_id)
        self.check_value(value)

    def on_assign(self, step, site_id, value, *keys):
        self.check_value(value)
        self.check_store("assign", step, site_id, keys)

    def on_delete(self, step, site_id, *keys):
        self.check_store("delete", step, site_id, keys)

    def check_store(self, tag, step, site_id, keys):
        self.in_range("step", step, self.step_count, "Step")
        op = self.site_op(tag, site_id)
        if op is not None and len(keys) != KEY_COUNTS.get(op, 0):
            self.problem(f"{tag} on a {op} site has {len(keys)} key(s), "
                         f"must have {KEY_COUNTS.get(op, 0)}")
        for key in keys:
            self.check_value(key)

    def on_exception(self, step, kind, function_id, type_name, message):
        self.in_range("step", step, self.step_count, "Step")
        if kind not in EXCEPTION_KINDS:
            self.problem(f"unknown exception kind {short(kind)}")
        if (kind == "uncaught") != (function_id == -1):
            self.problem("function_id must be -1 exactly for an uncaught "
                         "exception")
        else:
            self.in_range("function_id", function_id, self.function_count,
                          "Function")


def read_extension(path):
    """The JSON lines of an extension file (bytes): decompressed if its name
    ends in .zst (CtfsError if it cannot be), else as they are."""
    if str(path).endswith(".zst"):
        return read_zstd(path)
    return Path(path).read_bytes()


def check_extension(path, types, function_count, path_count, step_count):
    """Return the problems of a trace_extension.jsonl (or .jsonl.zst).

    `types` (the Type events' bodies), `function_count`, `path_count` and
    `step_count` describe the trace.json beside it; trace_check's
    check_events returns them.
    """
    name = Path(path).name
    try:
        data = read_extension(path)
    except OSError as error:
        return [f"{name}: cannot read: {error.strerror}"]
    except CtfsError as error:
        return [f"{name}: {' '.join(str(error).split())}"]
    lines = data.split(b"\n")
    cut_short = lines[-1] != b""     # the last line lacks its newline
    if not cut_short:
        lines.pop()
    checker = _ExtensionChecker(name, types, function_count, path_count,
                                step_count)
    checker.run(lines, cut_short)
    return checker.problems
