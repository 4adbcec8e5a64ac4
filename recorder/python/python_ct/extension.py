"""Read the trace_extension.jsonl of a trace folder (beside a trace.ct,
trace_extension.jsonl.zst: the same lines as zstd frames): the assignments,
subexpression values and exception events that trace.json cannot hold
(docs/trace-extension.md).

    ext = Extension.load(folder)
    ext.sites          {id: Site(id, kind, op, function, path, line, column,
                                 end_line, end_column, target)}
    ext.assignments    [Assignment(step, site, target, value, keys, deleted)]
    ext.values         [SubexpressionValue(step, site, value)]
    ext.exceptions     [ExceptionEvent(step, kind, function, type, message)]

Values are decoded by trace_model.decode with the types of the trace.json
(or trace.ct) beside the file.  An Assignment's target is resolved: a
subscript or slice store whose key is a literal shows it (`d[k]` storing at
'a' -> `d['a']`).
"""

import ast
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from python_ct import ctfs
from python_ct.extension_check import EXTENSION_FILES, read_extension
from python_ct.trace_model import Raw, decode

FLOAT_KIND = 8              # TypeKind of float
STRING_LIMIT = 4096         # a longer String text was cut by the recorder


@dataclass(frozen=True)
class Site:
    """A place in the source that records refer to."""

    id: int
    kind: str               # "value", "store" or "delete"
    op: str                 # the CPython opcode name, or "BOOL_OP"
    function: str           # as trace.json names it: "Point.__init__"
    path: str
    line: int               # 1-based; -1 when unknown
    column: int             # 0-based, in UTF-8 bytes; -1 when unknown
    end_line: int
    end_column: int
    target: "str | None"    # the store's target text; None for values


@dataclass
class Assignment:
    step: int
    site: Site
    target: str             # resolved; site.target is the source text
    value: object           # None for a deletion
    keys: tuple             # the subscript key, or the slice's start and stop
    deleted: bool


@dataclass
class SubexpressionValue:
    step: int
    site: Site
    value: object


@dataclass
class ExceptionEvent:
    step: int
    kind: str
    function: "str | None"  # None for "uncaught"
    type: str
    message: str


def _trace_tables(folder):
    """The bodies of the trace's events (trace.ct or trace.json) by name.
    A trace.json left unclosed by a killed program ends after a complete
    event, so it is read with its array closed."""
    try:
        events = ctfs.load_events(folder)
    except ValueError:
        text = (Path(folder) / "trace.json").read_text(encoding="utf-8")
        events = json.loads(text.rstrip().rstrip(",") + "]")
    tables = defaultdict(list)
    for event in events:
        if isinstance(event, dict):
            (name, body), = event.items()
            tables[name].append(body)
    return tables


def _read_records(path):
    """The records of the file, less a last line cut short by a crash."""
    lines = read_extension(path).split(b"\n")
    records = [json.loads(line) for line in lines[:-1]]
    try:
        records.append(json.loads(lines[-1]))  # b"" after a final newline
    except ValueError:
        pass
    if records and records[0][:2] != ["format", "python-ct-extension"]:
        raise ValueError(f"{path} is not a python-ct extension file")
    return records


def extension_path(folder):
    """The folder's extension file: the one that goes with its trace file
    (trace_extension.jsonl.zst with trace.ct, trace_extension.jsonl with
    trace.json) if present, else the other one if that is present."""
    folder = Path(folder)
    preferred = EXTENSION_FILES["trace.ct" if (folder / "trace.ct").exists()
                                else "trace.json"]
    others = [name for name in EXTENSION_FILES.values() if name != preferred]
    return next((folder / name for name in (preferred, *others)
                 if (folder / name).exists()), folder / preferred)


def _container(target):
    """The subscripted part of a subscript target's text ("d" of "d[k]"),
    or None if the text is not a subscript."""
    try:
        node = ast.parse(target, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Subscript):
        return None
    data = target.encode()
    lines = data.splitlines(keepends=True)
    end = (len(b"".join(lines[:node.value.end_lineno - 1]))
           + node.value.end_col_offset)
    head = data[:end].decode()
    rest = target[len(head):]           # ")" and blanks, then "[key]"
    return (head + rest[:rest.index("[")]).rstrip()


class Extension:
    """The records of one trace folder's trace_extension.jsonl."""

    def __init__(self, records, types, functions, paths):
        self.types = types
        self._function_names = [f["name"] for f in functions]
        self._paths = paths
        self.sites, self.assignments = {}, []
        self.values, self.exceptions = [], []
        self._values_by_step = defaultdict(list)
        self._source_lines = {}
        handlers = {
            "site": self._on_site, "value": self._on_value,
            "assign": self._on_assign, "delete": self._on_delete,
            "exception": self._on_exception,
        }
        for tag, *fields in records[1:]:
            if tag in handlers:     # other tags: records of a later version
                handlers[tag](*fields)

    @classmethod
    def load(cls, folder):
        tables = _trace_tables(folder)
        return cls(_read_records(extension_path(folder)),
                   tables["Type"], tables["Function"], tables["Path"])

    # --- records ------------------------------------------------------

    def _on_site(self, site_id, kind, op, function_id, path_id, line,
                 column, end_line, end_column, target):
        self.sites[site_id] = Site(
            site_id, kind, op, self._function_names[function_id],
            self._paths[path_id], line, column, end_line, end_column, target)

    def _on_value(self, step, site_id, record):
        value = SubexpressionValue(step, self.sites[site_id],
                                   decode(record, self.types))
        self.values.append(value)
        self._values_by_step[step].append(value)

    def _on_assign(self, step, site_id, record, *keys):
        self._add_assignment(step, site_id, decode(record, self.types), keys,
                             deleted=False)

    def _on_delete(self, step, site_id, *keys):
        self._add_assignment(step, site_id, None, keys, deleted=True)

    def _add_assignment(self, step, site_id, value, key_records, deleted):
        site = self.sites[site_id]
        keys = tuple(decode(record, self.types) for record in key_records)
        self.assignments.append(Assignment(
            step, site, self._resolve(site, key_records, keys), value, keys,
            deleted))

    def _on_exception(self, step, kind, function_id, type_name, message):
        function = self._function_names[function_id] \
            if function_id >= 0 else None
        self.exceptions.append(
            ExceptionEvent(step, kind, function, type_name, message))

    def _resolve(self, site, key_records, keys):
        """The site's target with the literal key or slice bounds in."""
        is_slice = len(keys) == 2
        texts = [self._literal(record, key, is_slice)
                 for record, key in zip(key_records, keys)]
        container = _container(site.target) if keys else None
        if container is None or None in texts:
            return site.target
        return f"{container}[{':'.join(texts)}]"

    def _literal(self, record, value, in_slice):
        """A decoded key as Python source, if it is a scalar ("" for a
        slice's missing bound); None otherwise."""
        if value is None and in_slice:
            return ""
        if isinstance(value, (int, type(None))) or (
                isinstance(value, str) and len(value) <= STRING_LIMIT):
            return repr(value)
        if (isinstance(value, Raw)
                and self.types[record["type_id"]]["kind"] == FLOAT_KIND
                and math.isfinite(float(value.text))):
            return value.text
        return None

    # --- queries ------------------------------------------------------

    def assignments_to(self, target):
        """Assignments and deletions whose resolved or source target text
        is `target` ("d['a']" or "d[k]")."""
        return [a for a in self.assignments
                if target in (a.target, a.site.target)]

    def history(self, name, function=None):
        """[(step, value)] of the assignments to a variable (or any target
        text), in `function` (its name in trace.json) if given."""
        return [(a.step, a.value) for a in self.assignments_to(name)
                if not a.deleted and function in (None, a.site.function)]

    def values_at(self, step):
        """The subexpression values recorded on a step, in order."""
        return list(self._values_by_step.get(step, ()))

    def source_text(self, site):
        """The source text of a site (or site id), None if unknown."""
        if isinstance(site, int):
            site = self.sites[site]
        lines = self._lines_of(site.path)
        if (lines is None or min(site.line, site.column, site.end_column) < 0
                or not site.line <= site.end_line <= len(lines)):
            return None
        chosen = lines[site.line - 1:site.end_line]
        chosen[-1] = chosen[-1][:site.end_column]
        chosen[0] = chosen[0][site.column:]
        return b"".join(chosen).decode("utf-8", "replace")

    def _lines_of(self, path):
        """A source file's lines as bytes (columns count bytes)."""
        if path not in self._source_lines:
            try:
                data = Path(path).read_bytes()
            except OSError:
                data = None
            self._source_lines[path] = \
                data.splitlines(keepends=True) if data is not None else None
        return self._source_lines[path]
