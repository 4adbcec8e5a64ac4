"""Load a CodeTracer trace folder into plain Python objects.

The events are replayed with the semantics of the CodeTracer backend
(trace-format reference §2.6):

* a Step belongs to the call open when it arrives;
* a Value attaches to the latest step (to step 0 before any step);
* a Call's args attach to the latest step, and that step (unless it is
  step 0) moves to the new call: it is the callee's first step;
* an Event attaches to the latest step (to none before any step).

    model = TraceModel.load(folder)     (trace.json or trace.ct)
    model.steps        [Step(index, path, line, call, values, records)]
    model.root         the first (top-level) Call; Call.children, .args,
                       .return_value, .steps, .first_step
    model.events       [Event(kind, metadata, content, step)]

decode() turns a ValueRecord into plain Python: Int/BigInt -> int,
String -> str, Bool -> bool, None -> None, Raw -> Raw(text),
Error -> ErrorValue(msg), Sequence -> list, Tuple -> tuple, Struct -> dict
of its fields plus "__type__" (the type's lang_type).
"""

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from python_ct import ctfs

STDOUT, STDERR, ERROR = 0, 2, 11   # EventLogKind numbers used by python-ct
TYPE_KEY = "__type__"


@dataclass(frozen=True)
class Raw:
    """A value recorded as display text only."""

    text: str


@dataclass(frozen=True)
class ErrorValue:
    """A value the recorder could not read, with its reason."""

    msg: str


def _decode_big_int(record, types):
    magnitude = int.from_bytes(base64.b64decode(record["b"]), "big")
    return -magnitude if record["negative"] else magnitude


def _decode_struct(record, types):
    type_record = types[record["type_id"]]
    names = [f["name"] for f in type_record["specific_info"]["fields"]]
    values = [decode(v, types) for v in record["field_values"]]
    return {TYPE_KEY: type_record["lang_type"], **dict(zip(names, values))}


_DECODERS = {
    "None": lambda record, types: None,
    "Bool": lambda record, types: record["b"],
    "Int": lambda record, types: record["i"],
    "String": lambda record, types: record["text"],
    "Raw": lambda record, types: Raw(record["r"]),
    "Error": lambda record, types: ErrorValue(record["msg"]),
    "BigInt": _decode_big_int,
    "Sequence": lambda record, types: [decode(v, types)
                                       for v in record["elements"]],
    "Tuple": lambda record, types: tuple(decode(v, types)
                                         for v in record["elements"]),
    "Struct": _decode_struct,
}


def decode(record, types=()):
    """Turn a ValueRecord into plain Python (Struct needs the types)."""
    try:
        decoder = _DECODERS[record["kind"]]
    except KeyError:
        raise ValueError(f"cannot decode value {record!r}") from None
    return decoder(record, types)


@dataclass(eq=False)
class Call:
    name: str
    path: str
    line: int
    parent: "Call | None"
    args: dict = field(default_factory=dict)
    children: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    return_value: object = None
    returned: bool = False

    @property
    def short_name(self):
        """The name without its qualifying prefix ("A.f" -> "f")."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def first_step(self):
        return self.steps[0] if self.steps else None

    def outline(self):
        """The call tree as text: "f(g, g(h))", with short names."""
        if not self.children:
            return self.short_name
        inner = ", ".join(child.outline() for child in self.children)
        return f"{self.short_name}({inner})"

    def __repr__(self):
        return f"<Call {self.name} args={self.args!r}>"


@dataclass(eq=False)
class Step:
    index: int
    path: str
    line: int
    call: Call
    values: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)

    @property
    def location(self):
        """(file basename, line)."""
        return os.path.basename(self.path), self.line

    def __repr__(self):
        return f"<Step {self.index} {self.path}:{self.line}>"


@dataclass
class Event:
    kind: int
    metadata: str
    content: str
    step: "int | None"


class TraceModel:
    """The replayed content of one trace folder."""

    def __init__(self, events, metadata=None, paths=None):
        self.metadata = metadata or {}
        self.trace_paths = paths or []
        self.raw_events = events
        self.paths, self.variable_names = [], []
        self.types, self.functions = [], []
        self.steps, self.calls, self.events = [], [], []
        self._current = None
        self._before_steps = Step(-1, "", 0, None)  # values before step 0
        self._handlers = {
            "Path": self.paths.append,
            "VariableName": self.variable_names.append,
            "Variable": self.variable_names.append,
            "Type": self.types.append, "Function": self.functions.append,
            "Step": self._on_step, "Value": self._on_value,
            "Call": self._on_call, "Return": self._on_return,
            "Event": self._on_event, "Asm": lambda body: None,
            "DropLastStep": lambda body: self._drop_last_step(),
        }
        for event in events:
            self._replay(event)

    @classmethod
    def load(cls, folder):
        folder = Path(folder)

        def read(name):
            with open(folder / name, encoding="utf-8") as file:
                return json.load(file)
        return cls(ctfs.load_events(folder), read("trace_metadata.json"),
                   read("trace_paths.json"))

    # --- replay -------------------------------------------------------

    def _replay(self, event):
        if event == "DropLastStep":
            self._drop_last_step()
            return
        (name, body), = event.items()
        self._handlers[name](body)

    def _on_step(self, body):
        step = Step(len(self.steps), self.paths[body["path_id"]],
                    body["line"], self._current)
        if not self.steps:
            step.values.update(self._before_steps.values)
            step.records.update(self._before_steps.records)
        self.steps.append(step)
        if self._current is not None:
            self._current.steps.append(step)

    def _on_value(self, body):
        self._attach_value(body["variable_id"], body["value"])

    def _attach_value(self, variable_id, record):
        name = self.variable_names[variable_id]
        step = self.steps[-1] if self.steps else self._before_steps
        step.values[name] = self.decode(record)
        step.records[name] = record

    def _on_call(self, body):
        function = self.functions[body["function_id"]]
        call = Call(function["name"], self.paths[function["path_id"]],
                    function["line"], self._current)
        for arg in body["args"]:
            call.args[self.variable_names[arg["variable_id"]]] = \
                self.decode(arg["value"])
            self._attach_value(arg["variable_id"], arg["value"])
        if self._current is not None:
            self._current.children.append(call)
        if len(self.steps) > 1:
            self._move_step(self.steps[-1], call)
        self.calls.append(call)
        self._current = call

    @staticmethod
    def _move_step(step, call):
        if step.call is not None:
            step.call.steps.remove(step)
        step.call = call
        call.steps.append(step)

    def _on_return(self, body):
        self._current.return_value = self.decode(body["return_value"])
        self._current.returned = True
        self._current = self._current.parent

    def _on_event(self, body):
        step = self.steps[-1].index if self.steps else None
        self.events.append(Event(body["kind"], body["metadata"],
                                 body["content"], step))

    def _drop_last_step(self):
        step = self.steps.pop()
        if step.call is not None:
            step.call.steps.remove(step)

    # --- queries ------------------------------------------------------

    def decode(self, record):
        return decode(record, self.types)

    def type_of(self, record):
        """The TypeRecord of a ValueRecord."""
        return self.types[record["type_id"]]

    @property
    def root(self):
        return self.calls[0]

    def calls_named(self, short_name):
        """Calls in the order they started, by name without prefix."""
        return [c for c in self.calls if c.short_name == short_name]

    def locations(self, basename=None):
        """[(file basename, line)] of all steps, or of one file's steps."""
        return [s.location for s in self.steps
                if basename is None or s.location[0] == basename]

    def io_events(self, kind):
        return [e for e in self.events if e.kind == kind]

    def output(self, kind=STDOUT):
        """The text of all stdout (or stderr) events joined together."""
        return "".join(e.content for e in self.io_events(kind))
