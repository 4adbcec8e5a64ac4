"""Validate a CodeTracer trace folder in the legacy JSON format.

The rules are those of the trace-format reference, sections 2.1-2.11: the
three files exist and parse, the metadata and path list are well formed,
every event of trace.json is a known variant with exactly the right fields,
interned ids (positional: the N-th Path is path 0+N, and so on) are defined
before they are used, type 0 is the None type, the top-level Call comes
before the first Step, nothing that a 25.x CodeTracer rejects appears (Float,
Char, Cell, ValueRef/ref_id, thread events, BindVariable, Assignment,
DropVariables), and Calls and Returns balance.  A trace_extension.jsonl
beside trace.json is checked against it (extension_check), and each other
thread's trace folder that the metadata lists (threads/<n>/) is checked as
a trace folder of its own, its problems prefixed with its folder.  A folder
recorded with CODETRACER_FORMAT=ctfs holds trace.ct instead of trace.json,
and trace_extension.jsonl.zst instead of trace_extension.jsonl: its events,
decoded by python_ct.ctfs, and its extension lines are checked the same way.

Library use:  check_trace_folder(folder) -> list of problems (empty: valid)
              validate_trace_folder(folder) raises TraceError when invalid
Command line: python -m python_ct.trace_check FOLDER [FOLDER ...]
"""

import argparse
import os
import sys
from pathlib import Path

from python_ct import ctfs
from python_ct.extension_check import EXTENSION_FILES, check_extension
from python_ct.record_check import (FIELD_KINDS, MAX_PROBLEMS, RecordChecker,
                                    has_lone_surrogate, is_int, parse_json,
                                    short)

TYPE_KINDS = 34             # TypeKind numbers are 0..33
NONE_TYPE_KIND = 30
EVENT_LOG_KINDS = 14        # EventLogKind numbers are 0..13
TRACE_FILES = ("trace.json", "trace.ct")    # a folder holds one of them

FORBIDDEN_EVENTS = {
    "BindVariable": "25.11.1 panics on it",
    "Assignment": "25.11.1 panics on it",
    "DropVariables": "25.11.1 panics on it",
    "ThreadStart": "unknown to runtime_tracing 0.14.1",
    "ThreadExit": "unknown to runtime_tracing 0.14.1",
    "ThreadSwitch": "unknown to runtime_tracing 0.14.1",
    "CompoundValue": "experimental place/cell event",
    "CellValue": "experimental place/cell event",
    "AssignCompoundItem": "experimental place/cell event",
    "AssignCell": "experimental place/cell event",
    "VariableCell": "experimental place/cell event",
    "DropVariable": "experimental place/cell event",
}

# The kinds of fields of trace.json's events: the shared ones, and these.
TRACE_FIELD_KINDS = {
    **FIELD_KINDS,
    "type_kind": (lambda x: is_int(x) and 0 <= x < TYPE_KINDS,
                  f"a TypeKind number (0..{TYPE_KINDS - 1})"),
    "event_kind": (lambda x: is_int(x) and 0 <= x < EVENT_LOG_KINDS,
                   f"an EventLogKind number (0..{EVENT_LOG_KINDS - 1})"),
}

EVENT_FIELDS = {
    "Step": {"path_id": "id", "line": "i64"},
    "Type": {"kind": "type_kind", "lang_type": "str",
             "specific_info": "object"},
    "Value": {"variable_id": "id", "value": "object"},
    "Function": {"path_id": "id", "line": "i64", "name": "str"},
    "Call": {"function_id": "id", "args": "list"},
    "Return": {"return_value": "object"},
    "Event": {"kind": "event_kind", "metadata": "str", "content": "str"},
}
ARG_FIELDS = {"variable_id": "id", "value": "object"}

SPECIFIC_INFO_FIELDS = {
    "None": {},
    "Struct": {"fields": "list"},
    "Pointer": {"dereference_type_id": "id"},
}
STRUCT_FIELD_FIELDS = {"name": "str", "type_id": "id"}


class TraceError(Exception):
    """A trace folder breaks the format; `problems` lists why."""

    def __init__(self, folder, problems):
        self.folder = folder
        self.problems = problems
        shown = "\n  ".join(problems)
        super().__init__(f"invalid trace folder {folder}:\n  {shown}")


def _lone_surrogate_problems(name, document):
    """Name the parts of a document whose strings are not valid Unicode."""
    if not has_lone_surrogate(document):
        return []
    if not isinstance(document, list):
        return [f"{name}: a string holds a lone surrogate"]
    label = "event" if name in TRACE_FILES else "item"
    return [f"{name} {label} {index}: a string holds a lone surrogate"
            for index, item in enumerate(document)
            if has_lone_surrogate(item)][:MAX_PROBLEMS]


def load_json(path):
    """Parse a file as strict JSON: UTF-8, no NaN, no duplicate keys."""
    return parse_json(Path(path).read_bytes())


def load_document(path):
    """Parse trace.ct with python_ct.ctfs (into the events trace.json would
    hold), any other file with load_json."""
    if path.name == "trace.ct":
        return ctfs.read_trace(path).events
    return load_json(path)


class _EventChecker(RecordChecker):
    """Walks the events once, keeping the interning tables of §2.2."""

    field_kinds = TRACE_FIELD_KINDS

    def __init__(self, name):
        super().__init__(name)
        self.name = name            # trace.json or trace.ct
        self.paths = []
        self.variable_count = 0
        self.function_count = 0
        self.call_count = 0
        self.open_calls = 0
        self.step_count = 0
        self.handlers = {
            "Path": self.on_path, "VariableName": self.on_variable_name,
            "Variable": self.on_variable_name, "Type": self.on_type,
            "Function": self.on_function, "Call": self.on_call,
            "Return": self.on_return, "Step": self.on_step,
            "Value": self.on_value, "Event": lambda body: None,
            "Asm": self.on_asm, "DropLastStep": self.on_drop_last_step,
        }

    def run(self, events):
        if not isinstance(events, list):
            self.problem("must hold one JSON array of events")
            return
        for index, event in enumerate(events):
            self.where = f"{self.name} event {index}"
            self.check_event(event)
            if len(self.problems) >= MAX_PROBLEMS:
                self.where = self.name
                self.problem("too many problems, stopped checking")
                return
        self.where = f"{self.name} end"
        if self.open_calls:
            self.problem(f"{self.open_calls} Call(s) never returned")

    def check_event(self, event):
        if event == "DropLastStep":
            self.on_drop_last_step(None)
            return
        if not isinstance(event, dict) or len(event) != 1:
            self.problem(f"an event must be an object with one key, "
                         f"got {short(event)}")
            return
        (name, body), = event.items()
        self.where += f" ({name})"
        if name in FORBIDDEN_EVENTS:
            self.problem(f"{name} must not be written: "
                         f"{FORBIDDEN_EVENTS[name]}")
        elif name not in self.handlers:
            self.problem(f"unknown event variant {name!r}")
        elif name in EVENT_FIELDS and not self.fields_ok(
                body, EVENT_FIELDS[name], name):
            self.keep_position(name)
        else:
            self.handlers[name](body)

    def keep_position(self, name):
        """Count a malformed event so later positional ids stay right."""
        if name == "Type":
            self.types.append(None)
        elif name == "Function":
            self.function_count += 1
        elif name == "Call":
            self.call_count += 1
            self.open_calls += 1

    # --- interning events ---------------------------------------------

    def on_path(self, body):
        if not isinstance(body, str):
            self.problem(f"Path must be a string, got {short(body)}")
        elif not os.path.isabs(body):
            self.problem(f"Path {body!r} is not absolute")
        self.paths.append(body)

    def on_variable_name(self, body):
        if not isinstance(body, str):
            self.problem(f"variable name must be a string, "
                         f"got {short(body)}")
        self.variable_count += 1

    def on_type(self, body):
        type_id = len(self.types)
        self.types.append(body)
        if type_id == 0 and body["kind"] != NONE_TYPE_KIND:
            self.problem(f"type 0 must be the None type (kind "
                         f"{NONE_TYPE_KIND}), got kind {body['kind']}")
        if not self.specific_info_ok(body["specific_info"], type_id):
            self.types[type_id] = None

    def specific_info_ok(self, info, type_id):
        kind = info.get("kind")
        if kind not in SPECIFIC_INFO_FIELDS:
            self.problem(f"unknown specific_info kind {short(kind)}")
            return False
        fields = {"kind": "str", **SPECIFIC_INFO_FIELDS[kind]}
        if not self.fields_ok(info, fields, f"specific_info {kind}"):
            return False
        if kind == "Pointer":
            self.in_range("dereference_type_id",
                          info["dereference_type_id"], type_id + 1, "Type")
        for field in info.get("fields", []):
            if self.fields_ok(field, STRUCT_FIELD_FIELDS, "Struct field"):
                self.in_range("field type_id", field["type_id"],
                              type_id + 1, "Type")
        return True

    def on_function(self, body):
        self.in_range("path_id", body["path_id"], len(self.paths), "Path")
        self.function_count += 1

    # --- execution events ---------------------------------------------

    def on_step(self, body):
        if self.step_count == 0 and self.call_count == 0:
            self.problem("the first Step comes before the top-level Call")
        self.in_range("path_id", body["path_id"], len(self.paths), "Path")
        self.step_count += 1

    def on_call(self, body):
        if self.call_count == 0 and (body["function_id"] != 0
                                     or body["args"]):
            self.problem("the first Call must be the top-level call "
                         "{function_id: 0, args: []}")
        self.in_range("function_id", body["function_id"],
                      self.function_count, "Function")
        for index, arg in enumerate(body["args"]):
            if self.fields_ok(arg, ARG_FIELDS, f"args[{index}]"):
                self.check_variable_value(arg)
        self.call_count += 1
        self.open_calls += 1

    def on_return(self, body):
        self.check_value(body["return_value"])
        if self.open_calls == 0:
            self.problem("Return without an open Call")
        else:
            self.open_calls -= 1

    def on_value(self, body):
        self.check_variable_value(body)

    def check_variable_value(self, body):
        self.in_range("variable_id", body["variable_id"],
                      self.variable_count, "VariableName")
        self.check_value(body["value"])

    def on_asm(self, body):
        if not (isinstance(body, list)
                and all(isinstance(x, str) for x in body)):
            self.problem("Asm must be an array of strings")

    def on_drop_last_step(self, body):
        if body is not None:
            self.problem("DropLastStep takes no content")
        elif self.step_count == 0:
            self.problem("DropLastStep with no step to drop")
        else:
            self.step_count -= 1

def check_events(events, name="trace.json"):
    """Check a decoded event array (of trace.json, or of trace.ct: `name`
    names the file in the problems).

    Return the checker: its `problems`, and the tables that the extension
    file refers to: `paths` (the Path strings), `types` (the Type bodies),
    `function_count` and `step_count`.
    """
    checker = _EventChecker(name)
    checker.run(events)
    return checker


def check_metadata(metadata):
    """Return the problems of a decoded trace_metadata.json."""
    if not isinstance(metadata, dict):
        return ["trace_metadata.json: must be an object"]
    problems = []
    for key in ("workdir", "program"):
        if not isinstance(metadata.get(key), str):
            problems.append(f"trace_metadata.json: {key} must be a string")
    workdir = metadata.get("workdir")
    if isinstance(workdir, str) and not os.path.isabs(workdir):
        problems.append("trace_metadata.json: workdir must be absolute")
    args = metadata.get("args")
    if not (isinstance(args, list) and all(isinstance(a, str)
                                           for a in args)):
        problems.append("trace_metadata.json: args must be an array of "
                        "strings")
    problems += _check_optional_object(metadata, "recorder",
                                       {"name": str, "version": str})
    problems += _check_optional_object(metadata, "exit_status",
                                       {"code": int})
    problems += _check_optional_object(metadata, "thread",
                                       {"index": int, "ident": int})
    return problems + _thread_folders(metadata)[1]


def _check_optional_object(metadata, key, field_types):
    if key not in metadata:
        return []
    block = metadata[key]
    if not isinstance(block, dict):
        return [f"trace_metadata.json: {key} must be an object"]
    return [f"trace_metadata.json: {key}.{name} must be {kind.__name__}"
            for name, kind in field_types.items()
            if not isinstance(block.get(name), kind)
            or isinstance(block.get(name), bool)]


def _thread_folders(metadata):
    """The folders of the other threads' traces that the metadata lists,
    and the problems of that list."""
    threads = metadata.get("threads", [])
    if not isinstance(threads, list):
        return [], ["trace_metadata.json: threads must be an array"]
    folders, problems = [], []
    for thread in threads:
        if (isinstance(thread, dict) and is_int(thread.get("index"))
                and is_int(thread.get("ident"))
                and thread.get("folder") == f"threads/{thread['index']}"):
            folders.append(thread["folder"])
        else:
            problems.append(f"trace_metadata.json: threads entry "
                            f"{short(thread)} must be {{index, ident, "
                            f"folder: \"threads/<index>\"}}")
    return folders, problems


def check_paths(paths, path_events):
    """Return the problems of trace_paths.json against the Path events."""
    if not (isinstance(paths, list)
            and all(isinstance(p, str) and os.path.isabs(p)
                    for p in paths)):
        return ["trace_paths.json: must be an array of absolute paths"]
    if paths != path_events:
        return [f"trace_paths.json: {short(paths)} differs from the Path "
                f"events {short(path_events)}"]
    return []


def check_trace_folder(folder):
    """Return the list of problems of a trace folder (empty: valid)."""
    folder = Path(folder)
    trace_files = [name for name in TRACE_FILES if (folder / name).exists()]
    if len(trace_files) != 1:
        return ["holds both trace.json and trace.ct" if trace_files
                else "holds neither trace.json nor trace.ct"]
    trace_file = trace_files[0]
    documents, problems = {}, []
    for name in (trace_file, "trace_metadata.json", "trace_paths.json"):
        try:
            documents[name] = load_document(folder / name)
        except ctfs.CtfsError as error:
            problems.append(f"{name}: {' '.join(str(error).split())}")
        except OSError as error:
            problems.append(f"{name}: cannot read: {error.strerror}")
        except ValueError as error:
            problems.append(f"{name}: not valid JSON: {error}")
    if problems:
        return problems
    for name, document in documents.items():
        problems += _lone_surrogate_problems(name, document)
    trace = check_events(documents[trace_file], trace_file)
    metadata = documents["trace_metadata.json"]
    problems += (trace.problems + check_metadata(metadata)
                 + check_paths(documents["trace_paths.json"], trace.paths))
    problems += _extension_problems(folder, trace_file, trace)
    if isinstance(metadata, dict):
        for thread_folder in _thread_folders(metadata)[0]:
            problems += [f"{thread_folder}: {problem}" for problem
                         in check_trace_folder(folder / thread_folder)]
    return problems


def _extension_problems(folder, trace_file, trace):
    """The problems of the extension file, if there is one: the one that
    goes with the trace file, and its lines against the trace's events."""
    present = [name for name in EXTENSION_FILES.values()
               if (folder / name).exists()]
    if len(present) > 1:
        return [f"holds both {' and '.join(present)}"]
    problems = []
    for name in present:
        if name != EXTENSION_FILES[trace_file]:
            problems.append(f"{name} beside {trace_file}: expected "
                            f"{EXTENSION_FILES[trace_file]}")
        problems += check_extension(folder / name, trace.types,
                                    trace.function_count, len(trace.paths),
                                    trace.step_count)
    return problems


def validate_trace_folder(folder):
    """Raise TraceError if the trace folder has problems."""
    problems = check_trace_folder(folder)
    if problems:
        raise TraceError(folder, problems)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m python_ct.trace_check",
        description="Check CodeTracer trace folders (trace.json or "
                    "trace.ct, trace_metadata.json, trace_paths.json, "
                    "trace_extension.jsonl or .jsonl.zst, "
                    "threads/<n>/).")
    parser.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    args = parser.parse_args(argv)
    status = 0
    for folder in args.folders:
        problems = check_trace_folder(folder)
        for problem in problems:
            print(f"{folder}: {problem}")
        if problems:
            status = 1
        else:
            print(f"{folder}: OK")
    return status


if __name__ == "__main__":
    sys.exit(main())
