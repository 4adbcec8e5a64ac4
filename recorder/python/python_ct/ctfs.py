"""Read a CodeTracer CTFS "old format" container, trace.ct.

The container (trace-format reference, section 4.1: 16-byte header, 24-byte
root entries with base40 names, files reached through chains of mapping
blocks) holds events.log (section 4.4: 16-byte chunk headers, each followed
by one zstd frame of split-binary events), events.fmt (`split-binary`) and
meta.dat (section 4.3: "CTMD" version 3).  Each event is decoded into the
dict that json.load gives for the same event in trace.json (section 2.2), so
a trace.ct and a trace.json of one run compare equal.  Anything malformed
raises CtfsError with a one-line reason.  Needs zstandard and cbor2.

Library use:  read_trace(path) -> CtfsTrace (.events, .meta, .files,
              .block_size);  load_events(folder) -> the events of
              folder/trace.ct if present, else of folder/trace.json;
              read_zstd(path) -> the bytes of a file of zstd frames
              (trace_extension.jsonl.zst beside a trace.ct)
Command line: python -m python_ct.ctfs FOLDER_OR_CT [--events]
"""

import argparse
import io
import json
import re
import struct
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

try:
    import cbor2
except ImportError:
    cbor2 = None
try:
    import zstandard
except ImportError:
    zstandard = None

MAGIC = b"\xc0\xde\x72\xac\xe2"
EVENTS_PREFIX = MAGIC + b"\x01\x00\x00"     # optional at the start of events.log
BASE40 = "\0" + "0123456789abcdefghijklmnopqrstuvwxyz./-"
MAX_LEVELS = 5                              # mapping chain levels readers follow
EVENT_LOG_KINDS = 14                        # EventLogKind numbers are 0..13
UUID_V7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                     r"-[0-9a-f]{12}\Z")

# Split-binary tag -> (variant, layout after the tag): a field name -> kind
# dict for object variants, a kind for bare ones, None for DropLastStep.
EVENTS = [
    ("Step", {"path_id": "u64", "line": "i64"}),
    ("Path", "str"), ("VariableName", "str"), ("Variable", "str"),
    ("Type", "cbor"),
    ("Value", {"variable_id": "u64", "value": "cbor"}),
    ("Function", {"path_id": "u64", "line": "i64", "name": "str"}),
    ("Call", {"function_id": "u64", "args": "cbor"}),
    ("Return", {"return_value": "cbor"}),
    ("Event", {"kind": "kind", "metadata": "str", "content": "str"}),
    ("Asm", "strs"),
    ("BindVariable", {"variable_id": "u64", "place": "i64"}),
    ("Assignment", "cbor"),
    ("DropVariables", "u64s"),
    ("CompoundValue", {"place": "i64", "value": "cbor"}),
    ("CellValue", {"place": "i64", "value": "cbor"}),
    ("AssignCompoundItem", {"place": "i64", "index": "u64", "item_place": "i64"}),
    ("AssignCell", {"place": "i64", "new_value": "cbor"}),
    ("VariableCell", {"variable_id": "u64", "place": "i64"}),
    ("DropVariable", "u64"), ("ThreadStart", "u64"), ("ThreadExit", "u64"),
    ("ThreadSwitch", "u64"),
    ("DropLastStep", None),
]


class CtfsError(Exception):
    """The file is not a valid trace.ct; str() is a one-line reason."""


@dataclass
class CtfsTrace:
    events: list        # as json.load gives them for trace.json
    meta: dict          # meta.dat: recording_id, program, args, workdir, ...
    files: dict         # name -> size of every file in the container
    block_size: int


class Cursor:
    """Reads little-endian fields from bytes; `what` names them in errors."""

    def __init__(self, data, what):
        self.data, self.what, self.pos = data, what, 0

    def take(self, size):
        if self.pos + size > len(self.data):
            raise CtfsError(f"{self.what}: truncated at byte {self.pos} "
                            f"(needs {size} more, has {len(self.data) - self.pos})")
        self.pos += size
        return bytes(self.data[self.pos - size:self.pos])

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def u32(self):
        return self.unpack("<I")[0]

    def text(self, size):
        try:
            return self.take(size).decode("utf-8")
        except UnicodeDecodeError:
            raise CtfsError(f"{self.what}: invalid UTF-8 before byte {self.pos}")

    def varint(self):
        value = 0
        for shift in range(0, 70, 7):
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if value >= 1 << 64:
                    break
                return value
        raise CtfsError(f"{self.what}: varint too long at byte {self.pos}")

    def read(self, kind):
        if kind in ("u64", "i64"):
            return self.unpack("<Q" if kind == "u64" else "<q")[0]
        if kind == "str":
            return self.text(self.u32())
        if kind == "strs":
            return [self.read("str") for _ in range(self.u32())]
        if kind == "u64s":
            return [self.read("u64") for _ in range(self.u32())]
        if kind == "kind":
            value = self.take(1)[0]
            if value >= EVENT_LOG_KINDS:
                raise CtfsError(f"{self.what}: EventLogKind {value} out of range")
            return value
        return self.cbor(self.take(self.u32()))             # "cbor"

    def cbor(self, blob):
        stream = io.BytesIO(blob)
        try:
            item = cbor2.CBORDecoder(stream).decode()
        except (cbor2.CBORError, ValueError, OverflowError) as error:
            raise CtfsError(f"{self.what}: bad CBOR: {error}")
        if stream.tell() != len(blob):
            raise CtfsError(f"{self.what}: {len(blob) - stream.tell()} bytes "
                            f"after a CBOR item")
        pending, seen = [item], set()   # only what JSON holds, nothing shared
        while pending:
            value = pending.pop()
            if isinstance(value, (dict, list)):
                if id(value) in seen:
                    raise CtfsError(f"{self.what}: shared CBOR item")
                seen.add(id(value))
            if isinstance(value, dict):
                if not all(isinstance(key, str) for key in value):
                    raise CtfsError(f"{self.what}: CBOR map with a non-text key")
                pending.extend(value.values())
            elif isinstance(value, list):
                pending.extend(value)
            elif not (value is None or isinstance(value, (str, int, float))):
                raise CtfsError(f"{self.what}: CBOR {type(value).__name__} "
                                f"has no JSON form")
        return item


def decode_name(value):
    """A root entry's base40 name: first character least significant."""
    name = ""
    while value:
        value, index = divmod(value, 40)
        name += BASE40[index]
    if len(name) > 12 or "\0" in name:
        raise CtfsError(f"root entry name {name!r} is not a base40 name")
    return name


class Container:
    """A CTFS container's directory and its files' bytes (section 4.1)."""

    def __init__(self, data):
        if len(data) < 16 or data[:5] != MAGIC:
            raise CtfsError("not a CTFS container (bad magic)")
        if not 2 <= data[5] <= 4:
            raise CtfsError(f"unsupported CTFS version {data[5]} (2..4 are read)")
        self.data = data
        self.block_size, entries = struct.unpack_from("<II", data, 8)
        if self.block_size not in (1024, 2048, 4096):
            raise CtfsError(f"invalid block size {self.block_size}")
        if len(data) < self.block_size or 16 + 24 * entries > self.block_size:
            raise CtfsError(f"block 0 cannot hold {entries} root entries")
        self.files = {}             # name -> (size, level-1 mapping block)
        for index in range(entries):
            size, root, code = struct.unpack_from("<QQQ", data, 16 + 24 * index)
            if code == 0:
                if size or root:
                    raise CtfsError(f"root entry {index} has no name")
                continue
            name = decode_name(code)
            if name in self.files:
                raise CtfsError(f"{name} is listed twice")
            self.files[name] = (size, root)

    def slot(self, block, index, name):
        """The block number in slot `index` of mapping block `block`."""
        offset = block * self.block_size + 8 * index
        if offset + 8 > len(self.data):
            raise CtfsError(f"{name}: mapping block {block} is past the end "
                            f"of the file")
        value = struct.unpack_from("<Q", self.data, offset)[0]
        if value == 0:
            raise CtfsError(f"{name}: slot {index} of mapping block {block} "
                            f"is empty")
        return value

    def data_block(self, root, index, name):
        """Data block `index` of the file whose level-1 block is `root`:
        level k holds slots^k blocks; the last slot of each level's block
        chains to the next level's; a level-k block's slots point to
        level-(k-1) blocks."""
        slots = self.block_size // 8 - 1
        level, capacity, block = 1, slots, root
        while index >= capacity:
            index -= capacity
            level, capacity = level + 1, capacity * slots
            if level > MAX_LEVELS:
                raise CtfsError(f"{name}: deeper than {MAX_LEVELS} mapping levels")
            block = self.slot(block, slots, name)
        for _ in range(level - 1):
            capacity //= slots
            block = self.slot(block, index // capacity, name)
            index %= capacity
        return self.slot(block, index, name)

    def read(self, name):
        if name not in self.files:
            raise CtfsError(f"no {name} in the container")
        size, root = self.files[name]
        if size and not root:
            raise CtfsError(f"{name}: {size} bytes but no mapping block")
        parts, left = [], size
        for index in range(-(-size // self.block_size)):
            start = self.data_block(root, index, name) * self.block_size
            part = self.data[start:start + min(left, self.block_size)]
            if len(part) < min(left, self.block_size):
                raise CtfsError(f"{name}: data block at byte {start} is past "
                                f"the end of the file")
            parts.append(part)
            left -= len(part)
        return b"".join(parts)


def decode_events(log):
    """The events of events.log: chunks [size u32][count u32][first u64]
    + one zstd frame of `count` whole split-binary events."""
    events = []
    pos = len(EVENTS_PREFIX) if log.startswith(EVENTS_PREFIX) else 0
    decompressor = zstandard.ZstdDecompressor()
    while pos < len(log):
        size, count, first = Cursor(log[pos:pos + 16], f"events.log chunk "
                                    f"header at byte {pos}").unpack("<IIQ")
        what = f"events.log chunk at byte {pos}"
        if first != len(events):
            raise CtfsError(f"{what}: first event {first}, expected {len(events)}")
        frame = log[pos + 16:pos + 16 + size]
        if len(frame) < size:
            raise CtfsError(f"{what}: needs {size} bytes, has {len(frame)}")
        try:
            payload = decompressor.decompress(frame, allow_extra_data=False)
        except zstandard.ZstdError as error:
            raise CtfsError(f"{what}: {error}")
        cursor, decoded = Cursor(payload, what), 0
        while cursor.pos < len(payload):
            tag = payload[cursor.pos]
            cursor.pos += 1
            cursor.what = f"{what}: event {len(events)} (tag {tag})"
            if tag >= len(EVENTS):
                raise CtfsError(f"{cursor.what}: unknown tag")
            variant, layout = EVENTS[tag]
            if layout is None:
                events.append(variant)      # serde's form of a unit variant
            elif isinstance(layout, dict):
                events.append({variant: {field: cursor.read(kind)
                                         for field, kind in layout.items()}})
            else:
                events.append({variant: cursor.read(layout)})
            decoded += 1
        if decoded != count:
            raise CtfsError(f"{what}: holds {decoded} events, header says {count}")
        pos += 16 + size
    return events


def parse_meta(data):
    """meta.dat (section 4.3) without the optional blocks of flags 0-3."""
    cursor = Cursor(data, "meta.dat")
    if cursor.take(4) != b"CTMD":
        raise CtfsError("meta.dat: bad magic (not CTMD)")
    version, flags = cursor.unpack("<HH")
    if version != 3:
        raise CtfsError(f"meta.dat: version {version}, only 3 is read")
    if flags & 0xC00F:
        raise CtfsError(f"meta.dat: flags {flags:#06x} set reserved bits or "
                        f"announce optional blocks (bits 0-3)")

    def string():
        return cursor.text(cursor.varint())
    meta = {"flags": flags, "recording_id": string()}
    if not UUID_V7.match(meta["recording_id"]):
        raise CtfsError(f"meta.dat: recording_id {meta['recording_id']!r} "
                        f"is not a lowercase UUIDv7")
    meta["program"] = string()
    meta["args"] = [string() for _ in range(cursor.varint())]
    meta["workdir"] = string()
    meta["recorder_id"] = string()
    meta["paths"] = [string() for _ in range(cursor.varint())]
    if cursor.pos != len(data):
        raise CtfsError(f"meta.dat: {len(data) - cursor.pos} bytes after the paths")
    return meta


def require(*packages):
    """Raise CtfsError naming the first of `packages` (of "cbor2" and
    "zstandard") that is not installed."""
    modules = {"cbor2": cbor2, "zstandard": zstandard}
    for name in packages:
        if modules[name] is None:
            raise CtfsError(f"cannot be read without the {name} package: run "
                            f"CODETRACER_RECORD=0 python-ct -m pip install "
                            f"zstandard cbor2, or use a Python that has them")


def read_zstd(path):
    """The bytes of a file of concatenated zstd frames.  A last frame cut
    short (a killed recording) gives what it holds up to the cut; damaged
    data raises CtfsError, an unreadable file OSError."""
    require("zstandard")
    with open(path, "rb") as file:
        reader = zstandard.ZstdDecompressor().stream_reader(
            file, read_across_frames=True)
        try:
            return reader.read()
        except zstandard.ZstdError as error:
            raise CtfsError(str(error))


def read_trace(path):
    require("cbor2", "zstandard")
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CtfsError(f"cannot read it: {error.strerror}")
    container = Container(data)
    if container.read("events.fmt") != b"split-binary":
        raise CtfsError("events.fmt is not 'split-binary'")
    return CtfsTrace(decode_events(container.read("events.log")),
                     parse_meta(container.read("meta.dat")),
                     {name: size for name, (size, _) in container.files.items()},
                     container.block_size)


def load_events(folder):
    folder = Path(folder)
    if (folder / "trace.ct").exists():
        return read_trace(folder / "trace.ct").events
    with open(folder / "trace.json", encoding="utf-8") as file:
        return json.load(file)


def summary(path, trace):
    kinds = Counter(e if isinstance(e, str) else next(iter(e)) for e in trace.events)
    counts = ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())
    files = ", ".join(f"{name} {size}" for name, size in trace.files.items())
    return (f"{path}: {len(trace.events)} events ({counts}); program "
            f"{trace.meta['program']}; files {files}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m python_ct.ctfs",
        description="Decode a CodeTracer trace.ct (CTFS old format).")
    parser.add_argument("path", type=Path, metavar="FOLDER_OR_CT")
    parser.add_argument("--events", action="store_true",
                        help="print the events as JSON lines")
    args = parser.parse_args(argv)
    path = args.path / "trace.ct" if args.path.is_dir() else args.path
    try:
        trace = read_trace(path)
    except CtfsError as error:
        reason = " ".join(str(error).split())
        print(f"python_ct.ctfs: {path}: {reason}", file=sys.stderr)
        return 1
    if args.events:
        for event in trace.events:
            print(json.dumps(event))
    else:
        print(summary(path, trace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
