"""Checks shared by trace_check (trace.json) and extension_check
(trace_extension.jsonl): strict JSON, typed fields, and CodeTracer
ValueRecords against the type table of a trace.json.

The extension file's ValueRecords use the type ids of the trace.json beside
it, so both files must be held to one definition of a valid value.
"""

import binascii
import json

I64_MIN, I64_MAX = -(2 ** 63), 2 ** 63 - 1
U64_MAX = 2 ** 64 - 1
MAX_PROBLEMS = 100

FORBIDDEN_VALUES = {
    "Float": "use Raw with a Float-kinded type (the two CodeTracer "
             "generations disagree on Float)",
    "Char": "unknown to runtime_tracing 0.14.1",
    "Cell": "the backend cannot convert it",
    "ValueRef": "exists only in the spec, not in the Rust types",
}

# Field kinds: a predicate and how a problem names the expected type.
FIELD_KINDS = {
    "id": (lambda x: is_int(x) and 0 <= x <= U64_MAX,
           "an unsigned integer"),
    "i64": (lambda x: is_int(x) and I64_MIN <= x <= I64_MAX,
            "an integer in the i64 range"),
    "str": (lambda x: isinstance(x, str), "a string"),
    "bool": (lambda x: isinstance(x, bool), "a boolean"),
    "list": (lambda x: isinstance(x, list), "an array"),
    "object": (lambda x: isinstance(x, dict), "an object"),
}

VALUE_FIELDS = {
    "Int": {"i": "i64"},
    "Bool": {"b": "bool", "text": "str"},
    "String": {"text": "str"},
    "Sequence": {"elements": "list", "is_slice": "bool"},
    "Tuple": {"elements": "list"},
    "Struct": {"field_values": "list"},
    "Variant": {"discriminator": "str", "contents": "object"},
    "Reference": {"dereferenced": "object", "address": "id",
                  "mutable": "bool"},
    "Raw": {"r": "str"},
    "Error": {"msg": "str"},
    "None": {},
    "BigInt": {"b": "str", "negative": "bool"},
}
NESTED_VALUE_LISTS = ("elements", "field_values")
NESTED_VALUES = ("contents", "dereferenced")


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def short(obj, limit=80):
    """A JSON excerpt of obj for a problem message."""
    text = json.dumps(obj, ensure_ascii=True)
    return text if len(text) <= limit else text[:limit] + "..."


def _reject_duplicate_keys(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate key(s) {duplicates}")
    return result


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data):
    """Parse strict JSON (str or UTF-8 bytes): no NaN, no duplicate keys."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data, object_pairs_hook=_reject_duplicate_keys,
                      parse_constant=_reject_constant)


def has_lone_surrogate(document):
    """True if some string (key or value) holds a lone surrogate."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class RecordChecker:
    """Collects problems, each prefixed with `where`; checks ValueRecords
    against `types`, the Type events' bodies (None for a malformed one)."""

    field_kinds = FIELD_KINDS

    def __init__(self, where, types=None):
        self.problems = []
        self.where = where
        self.types = [] if types is None else types

    def problem(self, message):
        self.problems.append(f"{self.where}: {message}")

    def fields_ok(self, obj, fields, what):
        """Check that obj has exactly `fields`, each of the right kind."""
        if not isinstance(obj, dict):
            self.problem(f"{what} must be an object, got {short(obj)}")
            return False
        ok = True
        missing = sorted(set(fields) - set(obj))
        extra = sorted(set(obj) - set(fields))
        if missing:
            self.problem(f"{what} lacks field(s) {missing}")
            ok = False
        if extra:
            self.problem(f"{what} has unexpected field(s) {extra}")
            ok = False
        for name, kind in fields.items():
            if name in obj and not self.kind_ok(obj[name], kind,
                                                f"{what}.{name}"):
                ok = False
        return ok

    def kind_ok(self, value, kind, what):
        predicate, expected = self.field_kinds[kind]
        if not predicate(value):
            self.problem(f"{what} must be {expected}, got {short(value)}")
            return False
        return True

    def in_range(self, what, value, count, table):
        if value >= count:
            self.problem(f"{what} {value} used before its {table} event "
                         f"({count} so far)")

    def check_value(self, value):
        if not isinstance(value, dict):
            self.problem(f"a value must be an object, got {short(value)}")
            return
        kind = value.get("kind")
        if kind in FORBIDDEN_VALUES:
            self.problem(f"{kind} value must not be written: "
                         f"{FORBIDDEN_VALUES[kind]}")
            return
        if kind not in VALUE_FIELDS:
            self.problem(f"unknown value kind {short(kind)}")
            return
        if "ref_id" in value:
            self.problem("ref_id exists only in the spec, not in the "
                         "Rust types")
            return
        fields = {"kind": "str", "type_id": "id", **VALUE_FIELDS[kind]}
        if not self.fields_ok(value, fields, f"{kind} value"):
            return
        self.in_range("type_id", value["type_id"], len(self.types), "Type")
        for name in NESTED_VALUE_LISTS:
            for element in value.get(name, ()):
                self.check_value(element)
        for name in NESTED_VALUES:
            if name in value:
                self.check_value(value[name])
        if kind == "Struct":
            self.check_struct(value)
        elif kind == "BigInt":
            self.check_big_int(value)

    def check_struct(self, value):
        if (value["type_id"] >= len(self.types)
                or self.types[value["type_id"]] is None):
            return
        info = self.types[value["type_id"]]["specific_info"]
        if info.get("kind") != "Struct":
            self.problem(f"Struct value of type {value['type_id']}, whose "
                         f"specific_info is not Struct")
        elif len(info["fields"]) != len(value["field_values"]):
            self.problem(f"Struct value has {len(value['field_values'])} "
                         f"field values, its type {value['type_id']} has "
                         f"{len(info['fields'])} fields")

    def check_big_int(self, value):
        try:
            binascii.a2b_base64(value["b"], strict_mode=True)
        except (binascii.Error, ValueError):
            self.problem(f"BigInt.b is not padded standard base64: "
                         f"{short(value['b'])}")
