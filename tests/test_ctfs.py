"""CODETRACER_FORMAT=ctfs: the trace folder holds trace.ct (a CTFS "old
format" container, trace-format reference §4.1-4.4) instead of trace.json,
and trace_extension.jsonl.zst (the same lines as zstd frames) instead of
trace_extension.jsonl.

Every program of tests/programs/ is recorded twice, as JSON and as CTFS, and
python_ct.ctfs must read back from trace.ct exactly the events of trace.json,
in every thread's folder, with a meta.dat that agrees with
trace_metadata.json and trace_paths.json.  The reader itself is tested first,
on containers built here by a small writer written from the reference, so
those tests need no interpreter.
"""

import json
import random
import re
import shutil
import struct
import sys
from pathlib import Path

import cbor2
import pytest
import zstandard

from conftest import PROGRAMS, REPO, corpus, program_env, run, split_summary
from python_ct import ctfs, trace_check
from python_ct.ctfs import CtfsError, read_trace
from python_ct.extension import Extension
from python_ct.extension_check import check_extension
from python_ct.trace_model import TraceModel

EXAMPLE = Path(__file__).parent / "fixtures" / "reference_example"
MAGIC = b"\xc0\xde\x72\xac\xe2"
BASE40 = "\0" + "0123456789abcdefghijklmnopqrstuvwxyz./-"
RECORDING_ID = "01a21671-bbd3-7765-93e3-fa2610a5023e"   # §4.3's example

# Programs whose values change from run to run (temporary folder names,
# process ids, thread idents): their two recordings are compared with the
# scalars inside values masked.  The main thread's Thread objects even change
# shape (fields come and go with the workers' progress): those folders are
# compared without values and types.
VARYING = {"file_output.py", "forks.py", "threads.py",
           "threads_interleaved.py", "threads_many.py"}
THREADED = {"threads.py", "threads_interleaved.py", "threads_many.py"}
# Arguments and stdin of the programs that want some.
RUN_WITH = {"argv.py": (("one", "two words"), None),
            "standard_streams.py": ((), "Ada\nl1\nl2\n")}


# --- A writer written from the reference, for the reader's own tests --------

def u32(n):
    return struct.pack("<I", n)


def text(s):
    return u32(len(s.encode())) + s.encode()


def cbor(value):
    blob = cbor2.dumps(value)
    return u32(len(blob)) + blob


def split_binary(event):
    """One trace.json event in the split-binary encoding (§4.4's table)."""
    if event == "DropLastStep":
        return b"\x17"
    [(variant, body)] = event.items()
    fields = {
        "Step": lambda: (0, struct.pack("<Qq", body["path_id"], body["line"])),
        "Path": lambda: (1, text(body)),
        "VariableName": lambda: (2, text(body)),
        "Variable": lambda: (3, text(body)),
        "Type": lambda: (4, cbor(body)),
        "Value": lambda: (5, struct.pack("<Q", body["variable_id"])
                          + cbor(body["value"])),
        "Function": lambda: (6, struct.pack("<Qq", body["path_id"], body["line"])
                             + text(body["name"])),
        "Call": lambda: (7, struct.pack("<Q", body["function_id"])
                         + cbor(body["args"])),
        "Return": lambda: (8, cbor(body["return_value"])),
        "Event": lambda: (9, bytes([body["kind"]]) + text(body["metadata"])
                          + text(body["content"])),
        "DropVariables": lambda: (13, u32(len(body)) + b"".join(
            struct.pack("<Q", v) for v in body)),
        "ThreadStart": lambda: (20, struct.pack("<Q", body)),
    }
    tag, rest = fields[variant]()
    return bytes([tag]) + rest


def chunk(encoded, first, count=None):
    """[compressed_size u32][event_count u32][first_geid u64][zstd frame]"""
    frame = zstandard.ZstdCompressor(level=3).compress(b"".join(encoded))
    return struct.pack("<IIQ", len(frame), len(encoded) if count is None
                       else count, first) + frame


def events_log(events, per_chunk=1000, prefix=False):
    encoded = [split_binary(e) for e in events]
    return (MAGIC + b"\x01\x00\x00" if prefix else b"") + b"".join(
        chunk(encoded[i:i + per_chunk], i)
        for i in range(0, len(encoded), per_chunk))


def varint(n):
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def meta_dat(program="/w/five.py", args=(), workdir="/w", recorder="python-ct",
             paths=("/w/five.py",), recording_id=RECORDING_ID, version=3,
             flags=0):
    def string(s):
        return varint(len(s.encode())) + s.encode()
    return (b"CTMD" + struct.pack("<HH", version, flags) + string(recording_id)
            + string(program) + varint(len(args)) + b"".join(map(string, args))
            + string(workdir) + string(recorder) + varint(len(paths))
            + b"".join(map(string, paths)))


def base40(name):
    return sum(BASE40.index(c) * 40 ** i for i, c in enumerate(name))


def container(files, block_size=4096):
    """A v4 container of `files` ({name: bytes}): 24-byte root entries at
    offset 16; each file's level-1 mapping block lists its first
    block_size/8 - 1 data blocks, its last slot chains to a level-2 block
    whose slots each point to a level-1 block, and so on."""
    slots = block_size // 8 - 1
    image = bytearray(block_size)
    image[:16] = MAGIC + bytes([4, 0, 1]) + struct.pack("<II", block_size, 31)

    def slot(block, index):
        """The block in a slot, allocated (zeroed, at the end) if empty."""
        offset = block * block_size + 8 * index
        if not struct.unpack_from("<Q", image, offset)[0]:
            image.extend(bytes(block_size))
            struct.pack_into("<Q", image, offset, len(image) // block_size - 1)
        return struct.unpack_from("<Q", image, offset)[0]

    for number, (name, data) in enumerate(files.items()):
        image.extend(bytes(block_size))
        root = len(image) // block_size - 1
        struct.pack_into("<QQQ", image, 16 + 24 * number, len(data), root,
                         base40(name))
        for start in range(0, len(data), block_size):
            index, capacity, block, level = start // block_size, slots, root, 1
            while index >= capacity:
                index, capacity, level = index - capacity, capacity * slots, level + 1
                block = slot(block, slots)
            for _ in range(level - 1):
                capacity //= slots
                block = slot(block, index // capacity)
                index %= capacity
            target = slot(block, index) * block_size
            part = data[start:start + block_size]
            image[target:target + len(part)] = part
    return bytes(image)


def example_events():
    return json.loads((EXAMPLE / "trace.json").read_text())


def write_ct(path, events=None, block_size=4096, **parts):
    files = {"events.log": events_log(example_events() if events is None
                                      else events),
             "events.fmt": b"split-binary", "meta.dat": meta_dat()}
    files.update({name.replace("_", "."): data for name, data in parts.items()})
    path.write_bytes(container(files, block_size))
    return path


# --- The reader on hand-built containers ------------------------------------

def test_base40_names_of_the_reference():
    assert ctfs.decode_name(0x00106D8BDBA032CF) == "events.log"
    assert ctfs.decode_name(int.from_bytes(bytes.fromhex("efcb6f4183040000"),
                                           "little")) == "meta.dat"


@pytest.mark.parametrize("per_chunk, prefix, block_size", [
    (1000, False, 4096), (7, True, 4096), (1, False, 1024), (10, True, 2048)])
def test_reader_gives_the_events_of_trace_json(tmp_path, per_chunk, prefix,
                                               block_size):
    events = example_events() + [{"DropVariables": [4, 5]},
                                 {"ThreadStart": 7}, "DropLastStep"]
    path = write_ct(tmp_path / "trace.ct", block_size=block_size,
                    events_log=events_log(events, per_chunk, prefix))
    trace = read_trace(path)
    assert trace.events == events
    assert trace.block_size == block_size
    assert set(trace.files) == {"events.log", "events.fmt", "meta.dat"}
    assert trace.files["events.fmt"] == 12
    assert trace.meta == {
        "flags": 0, "recording_id": RECORDING_ID, "program": "/w/five.py",
        "args": [], "workdir": "/w", "recorder_id": "python-ct",
        "paths": ["/w/five.py"]}


def test_reader_reads_the_reference_meta_dat(tmp_path):
    """§4.3's worked example: flags 0x0F00 (stream bits), no args."""
    program = "/tmp/demo/src2/five.py"
    data = meta_dat(program=program, workdir="/tmp/demo", recorder="",
                    paths=[program], flags=0x0F00)
    assert data[:8] == bytes.fromhex("43544d440300000f") and len(data) == 104
    meta = read_trace(write_ct(tmp_path / "trace.ct", meta_dat=data)).meta
    assert (meta["program"], meta["workdir"], meta["recorder_id"],
            meta["paths"], meta["flags"]) == (program, "/tmp/demo", "",
                                              [program], 0x0F00)


@pytest.mark.parametrize("block_size, blocks", [
    (4096, 511), (4096, 512), (4096, 1200), (1024, 127 + 127 ** 2 + 3)])
def test_reader_follows_the_mapping_chain(tmp_path, block_size, blocks):
    """A level-1 mapping block holds block_size/8 - 1 data blocks (511 of
    4096 bytes = 2 MiB); bigger files go through levels 2 and 3."""
    data = random.Random(blocks).randbytes(blocks * block_size - 5)
    path = write_ct(tmp_path / "trace.ct", block_size=block_size, blob=data)
    image = path.read_bytes()
    assert ctfs.Container(image).read("blob") == data
    assert read_trace(path).files["blob"] == len(data)


def test_reader_reads_a_large_events_log(tmp_path):
    noise = random.Random(3)
    events = example_events() + [
        {"Event": {"kind": 0, "metadata": "stdout",
                   "content": noise.randbytes(2048).hex()}} for _ in range(1200)]
    path = write_ct(tmp_path / "trace.ct", events_log=events_log(events, 100))
    trace = read_trace(path)
    assert trace.files["events.log"] > 511 * 4096
    assert trace.events == events


def frame_magic_flipped(log):
    log = bytearray(log)
    log[16] ^= 0xFF
    return bytes(log)


def frame_without_size(events):
    compressor = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    frame = compressor.compress(b"".join(map(split_binary, events))) + \
        compressor.flush()
    return struct.pack("<IIQ", len(frame), len(events), 0) + frame


def with_chunk(*payloads, count=None, first=0):
    return chunk(list(payloads), first, count)


STEP = split_binary({"Step": {"path_id": 0, "line": 1}})
BAD_FILES = {
    "bad magic": ({"image": lambda b: b"\0" + b[1:]}, "bad magic"),
    "version 5": ({"image": lambda b: b[:5] + b"\x05" + b[6:]}, "version 5"),
    "block size": ({"image": lambda b: b[:8] + u32(512) + b[12:]}, "block size"),
    "truncated file": ({"image": lambda b: b[:len(b) // 2]}, "past the end"),
    "unknown tag": ({"events_log": with_chunk(STEP, b"\x18")}, "unknown tag"),
    "garbage after an event": ({"events_log": with_chunk(STEP, b"\x00\x01")},
                               "truncated"),
    "garbage after the chunks": ({"events_log": with_chunk(STEP) + b"junk"},
                                 "truncated"),
    "event count": ({"events_log": with_chunk(STEP, count=2)}, "header says 2"),
    "first event": ({"events_log": with_chunk(STEP) + with_chunk(STEP, first=0)},
                    "first event 0, expected 1"),
    "flipped frame byte": ({"events_log": frame_magic_flipped(
        with_chunk(STEP, STEP))}, "events.log chunk at byte 0"),
    "frame without size": ({"events_log": frame_without_size(
        [{"Step": {"path_id": 0, "line": 1}}])}, "content size"),
    "cut frame": ({"events_log": with_chunk(STEP)[:-1]}, "needs"),
    "byte-string CBOR": ({"events_log": with_chunk(b"\x08" + cbor(b"raw"))},
                         "no JSON form"),
    "bytes after CBOR": ({"events_log": with_chunk(b"\x08" + u32(2) + b"\xf6\xf6")},
                         "after a CBOR item"),
    "bad UTF-8": ({"events_log": with_chunk(b"\x01" + u32(1) + b"\xff")},
                  "UTF-8"),
    "event kind": ({"events_log": with_chunk(b"\x09\x0e" + text("") + text(""))},
                   "EventLogKind 14"),
    "events.fmt": ({"events_fmt": b"cbor"}, "split-binary"),
    "meta version": ({"meta_dat": meta_dat(version=2)}, "version 2"),
    "meta flags": ({"meta_dat": meta_dat(flags=1)}, "flags"),
    "recording id": ({"meta_dat": meta_dat(recording_id=RECORDING_ID.upper())},
                     "UUIDv7"),
    "meta trailing": ({"meta_dat": meta_dat() + b"\0"}, "after the paths"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_reader_refuses_bad_files(tmp_path, name):
    change, reason = BAD_FILES[name]
    change = dict(change)
    damage = change.pop("image", None)
    path = write_ct(tmp_path / "trace.ct", **change)
    if damage:
        path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CtfsError, match=reason) as caught:
        read_trace(path)
    assert "\n" not in str(caught.value)


def tool_command(tool, *args, python=sys.executable):
    """Run `python -m python_ct.TOOL ARGS` on the tools of this tree."""
    env = program_env(PYTHONPATH=str(REPO / "recorder" / "python"))
    return run([python, "-m", f"python_ct.{tool}", *args], env, REPO)


def reader_command(*args):
    return tool_command("ctfs", *args)


def test_reader_command_line(tmp_path):
    path = write_ct(tmp_path / "trace.ct")
    process = reader_command(tmp_path)
    assert process.returncode == 0 and process.stderr == ""
    assert process.stdout.startswith(f"{path}: 33 events (Value 10, Step 6, ")
    assert "program /w/five.py" in process.stdout
    assert "events.fmt 12" in process.stdout
    assert len(process.stdout.splitlines()) == 1
    process = reader_command(path, "--events")
    assert [json.loads(line) for line in process.stdout.splitlines()] == \
        example_events()
    path.write_bytes(path.read_bytes()[:100])
    process = reader_command(path)
    assert (process.returncode, process.stdout) == (1, "")
    [line] = process.stderr.splitlines()
    assert line.startswith(f"python_ct.ctfs: {path}: ")


def test_load_events_prefers_trace_ct(tmp_path):
    (tmp_path / "trace.json").write_text(json.dumps([{"Path": "/x.py"}]))
    assert ctfs.load_events(tmp_path) == [{"Path": "/x.py"}]
    write_ct(tmp_path / "trace.ct")
    assert ctfs.load_events(tmp_path) == example_events()


# --- Recording with CODETRACER_FORMAT=ctfs ----------------------------------

def record_as(python_ct, folder, format, *args, input=None, cwd=None, **env):
    """Run `python-ct ARGS` recording into `folder`, as JSON (format None:
    CODETRACER_FORMAT unset) or as CODETRACER_FORMAT=format."""
    env = program_env(CODETRACER_DB_TRACE_PATH=str(folder), **env)
    if format is not None:
        env["CODETRACER_FORMAT"] = format
    return run([python_ct, *args], env, cwd or folder.parent, input)


def files_in(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file())


def masked(value):
    """`value` with the scalars inside values (i, text, r) masked."""
    if isinstance(value, list):
        return [masked(v) for v in value]
    if not isinstance(value, dict):
        return value
    is_value = "kind" in value and "type_id" in value
    return {k: "?" if is_value and k in ("i", "text", "r") else masked(v)
            for k, v in value.items()}


def skeleton(events):
    """The events without Types, and only the variant of value-carrying
    ones: steps, paths, functions, variable names and I/O in full."""
    kept = ("Step", "Path", "Function", "VariableName", "Event")
    return [e if isinstance(e, str) or next(iter(e)) in kept else next(iter(e))
            for e in events if not (isinstance(e, dict) and "Type" in e)]


def comparable(program, relative):
    """What of a folder's events two recordings of `program` share."""
    if program in THREADED and relative == Path("."):
        return skeleton
    return masked if program in VARYING else list


# A CTFS recording's file for each file of a JSON recording that differs.
CTFS_NAMES = {"trace.json": "trace.ct",
              "trace_extension.jsonl": "trace_extension.jsonl.zst"}


def ctfs_name(relative):
    path = Path(relative)
    return str(path.with_name(CTFS_NAMES.get(path.name, path.name)))


def assert_same_trace(json_folder, ctfs_folder, program=None):
    """ctfs_folder holds trace.ct where json_folder holds trace.json (and
    trace_extension.jsonl.zst for trace_extension.jsonl), the same events
    in each, and meta.dat agrees with the JSON metadata."""
    expected = [ctfs_name(f) for f in files_in(json_folder)]
    assert files_in(ctfs_folder) == sorted(expected)
    for trace_json in sorted(json_folder.rglob("trace.json")):
        relative = trace_json.parent.relative_to(json_folder)
        folder = ctfs_folder / relative
        trace = read_trace(folder / "trace.ct")
        events = json.loads(trace_json.read_text())
        view = comparable(program, relative)
        assert view(trace.events) == view(events), f"events of {relative}"
        metadata = json.loads((folder / "trace_metadata.json").read_text())
        paths = json.loads((folder / "trace_paths.json").read_text())
        meta = trace.meta
        assert (meta["program"], meta["workdir"], meta["args"], meta["paths"]) \
            == (metadata["program"], metadata["workdir"], metadata["args"],
                paths), f"meta.dat of {relative}"


@pytest.mark.parametrize("program", corpus())
def test_ctfs_holds_the_events_of_trace_json(python_ct, tmp_path, program):
    args, input = RUN_WITH.get(program, ((), None))
    runs = {}
    for format in (None, "ctfs"):
        folder = tmp_path / f"trace-{format or 'json'}"
        process = record_as(python_ct, folder, format, PROGRAMS / program,
                            *args, input=input, cwd=tmp_path)
        runs[format] = (process.returncode, sorted(process.stdout.splitlines()),
                        split_summary(process.stderr)[0])
    assert runs["ctfs"] == runs[None]
    assert_same_trace(tmp_path / "trace-json", tmp_path / "trace-ctfs", program)


def test_threads_each_get_a_trace_ct(python_ct, tmp_path):
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "threads_many.py")
    metadata = json.loads((folder / "trace_metadata.json").read_text())
    assert [t["folder"] for t in metadata["threads"]] == \
        ["threads/1", "threads/2", "threads/3"]
    for thread in metadata["threads"]:
        events = read_trace(folder / thread["folder"] / "trace.ct").events
        names = [e["Function"]["name"] for e in events if "Function" in e]
        assert "work" in names
        assert not (folder / thread["folder"] / "trace.json").exists()


def test_bool_records_carry_their_text(python_ct, tmp_path):
    """Bool records hold `text` beside `b` in both formats: CodeTracer's Nim
    reader (ct-print) reads it, serde readers skip it."""
    program = tmp_path / "flags.py"
    program.write_text("yes = True\nno = False\nprint(yes, no)\n")
    for format, load in ((None, lambda f: json.loads((f / "trace.json").read_text())),
                         ("ctfs", lambda f: read_trace(f / "trace.ct").events)):
        folder = tmp_path / f"trace-{format}"
        record_as(python_ct, folder, format, program)
        bools = [e["Value"]["value"] for e in load(folder)
                 if "Value" in e and e["Value"]["value"]["kind"] == "Bool"]
        assert {(b["b"], b["text"]) for b in bools} == {(True, "true"), (False, "false")}
        assert all(set(b) == {"kind", "b", "text", "type_id"} for b in bools)


def test_explicit_json_format(python_ct, tmp_path):
    folder = tmp_path / "trace"
    process = record_as(python_ct, folder, "json", PROGRAMS / "five.py")
    assert process.stdout == "5.5\n"
    assert (folder / "trace.json").is_file()
    assert not (folder / "trace.ct").exists()


def test_unknown_format_is_refused(python_ct, tmp_path):
    """Like an unknown switch value: one line, exit status 2, the program
    does not run and nothing is written."""
    folder = tmp_path / "trace"
    process = record_as(python_ct, folder, "xml", PROGRAMS / "five.py")
    assert (process.returncode, process.stdout) == (2, "")
    [message] = process.stderr.splitlines()
    assert message.startswith("python-ct: ")
    assert "CODETRACER_FORMAT" in message and "'xml'" in message
    assert not folder.exists()


def test_launcher_format_option(python_ct, tmp_path):
    """python-ct --format=ctfs / --format ctfs set CODETRACER_FORMAT; a
    later recording in the other format removes the first one's trace file,
    which CodeTracer would otherwise open instead."""
    folder = tmp_path / "trace"
    for args in (["--format=ctfs"], ["--format", "ctfs"]):
        process = record_as(python_ct, folder, None, *args, PROGRAMS / "five.py")
        assert (process.returncode, process.stdout) == (0, "5.5\n")
        assert (folder / "trace.ct").is_file()
        assert not (folder / "trace.json").exists()
    record_as(python_ct, folder, None, "--format=json", PROGRAMS / "five.py")
    assert (folder / "trace.json").is_file()
    assert not (folder / "trace.ct").exists()


def test_launcher_format_option_needs_a_value(python_ct, tmp_path):
    process = record_as(python_ct, tmp_path / "trace", None, "--format")
    assert process.returncode == 2
    assert process.stderr == "python-ct: --format needs a value: json or ctfs\n"


def test_recorded_trace_ct_damaged(python_ct, tmp_path):
    """A recorded trace.ct with a flipped byte in its first zstd frame's
    magic, with events.log's size cut by one byte (its last frame loses its
    last byte), or cut to half its length: each is an error."""
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "five.py")
    image = (folder / "trace.ct").read_bytes()
    box = ctfs.Container(image)
    size, root = box.files["events.log"]
    log_start = box.data_block(root, 0, "events.log") * box.block_size
    frame = log_start + (8 if image[log_start:log_start + 5] == MAGIC else 0) + 16
    assert image[frame:frame + 4] == b"\x28\xb5\x2f\xfd"      # zstd frame magic
    flipped = bytearray(image)
    flipped[frame] ^= 0x01
    shorter = bytearray(image)
    entries = range(16, 16 + 24 * struct.unpack_from("<I", image, 12)[0], 24)
    [entry] = [e for e in entries
               if struct.unpack_from("<Q", image, e + 16)[0] == base40("events.log")]
    struct.pack_into("<Q", shorter, entry, size - 1)
    for damaged, reason in ((flipped, "events.log chunk"),
                            (shorter, "needs"),
                            (image[:len(image) // 2], "past the end")):
        (tmp_path / "damaged.ct").write_bytes(bytes(damaged))
        with pytest.raises(CtfsError, match=reason):
            read_trace(tmp_path / "damaged.ct")


LARGE_PROGRAM = '''\
import random


def churn(rounds):
    generator = random.Random(2024)
    total = 0
    for _ in range(rounds):
        noise = generator.randbytes(1024).hex()
        total += len(noise)
        del noise
    return total


print(churn(4000))
'''


def test_large_trace_round_trips(python_ct, tmp_path):
    """Random hex on every iteration makes events.log (about 4.5 MB) bigger
    than one level-1 mapping block addresses (511 blocks of 4096 bytes).
    trace_extension.jsonl is left out: it would be larger still."""
    program = tmp_path / "large.py"
    program.write_text(LARGE_PROGRAM)
    for format in (None, "ctfs"):
        process = record_as(python_ct, tmp_path / f"trace-{format or 'json'}",
                            format, program, cwd=tmp_path,
                            CODETRACER_ASSIGNMENTS="0",
                            CODETRACER_SUBEXPRESSIONS="0")
        assert process.stdout == "8192000\n", process.stderr[-2000:]
    trace = read_trace(tmp_path / "trace-ctfs" / "trace.ct")
    assert trace.files["events.log"] > (trace.block_size // 8 - 1) * trace.block_size
    assert trace.events == json.loads(
        (tmp_path / "trace-json" / "trace.json").read_text())


# --- The trace tools on trace.ct folders ------------------------------------

def example_ct_folder(tmp_path, events=None):
    """The reference example's folder with its events in trace.ct."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    (folder / "trace.json").unlink()
    write_ct(folder / "trace.ct", events)
    return folder


def checker_output(folder, python=sys.executable):
    process = tool_command("trace_check", folder, python=python)
    return process.stdout, process.stderr, process.returncode


def reported_problem(folder):
    """The one line trace_check prints for a folder with one problem."""
    stdout, stderr, status = checker_output(folder)
    assert (stderr, status) == ("", 1)
    [line] = stdout.splitlines()
    return line


def test_trace_check_names_trace_ct_in_problems(tmp_path):
    folder = example_ct_folder(tmp_path)
    assert trace_check.check_trace_folder(folder) == []
    events = example_events()
    events.pop()                            # the top-level Return
    write_ct(folder / "trace.ct", events)
    assert trace_check.check_trace_folder(folder) == [
        "trace.ct end: 1 Call(s) never returned"]


@pytest.mark.parametrize("program", ["threads_many.py", "assignments.py"])
def test_trace_check_passes_on_trace_ct(python_ct, tmp_path, program):
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / program)
    assert not list(folder.rglob("trace.json"))
    assert not list(folder.rglob("trace_extension.jsonl"))
    threads = 3 if program in THREADED else 0
    assert len(list(folder.glob("threads/*/trace.ct"))) == threads
    assert len(list(folder.rglob("trace_extension.jsonl.zst"))) == 1 + threads
    assert checker_output(folder) == (f"{folder}: OK\n", "", 0)


def test_trace_check_reports_a_damaged_trace_ct(python_ct, tmp_path):
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "five.py")
    image = (folder / "trace.ct").read_bytes()
    (folder / "trace.ct").write_bytes(image[:len(image) // 2])
    line = reported_problem(folder)
    assert line.startswith(f"{folder}: trace.ct: ") and "past the end" in line


def test_trace_check_refuses_trace_json_beside_trace_ct(python_ct, tmp_path):
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "five.py")
    shutil.copy(EXAMPLE / "trace.json", folder)
    assert checker_output(folder) == (
        f"{folder}: holds both trace.json and trace.ct\n", "", 1)


def test_trace_check_without_the_ctfs_packages(python_ct, tmp_path):
    """The installed interpreter lacks zstandard and cbor2: one line says
    how to get them (recording off, so pip does not record over a
    trace-out folder)."""
    python = python_ct.parent / "python3.13"
    if run([python, "-c", "import zstandard, cbor2"], program_env(),
           tmp_path).returncode == 0:
        pytest.skip(f"{python} has zstandard and cbor2")
    folder = example_ct_folder(tmp_path)
    stdout, stderr, status = checker_output(folder, python)
    assert (stderr, status) == ("", 1)
    [line] = stdout.splitlines()
    assert re.fullmatch(
        f"{re.escape(str(folder))}: trace.ct: cannot be read without the "
        f"(zstandard|cbor2) package: run CODETRACER_RECORD=0 python-ct -m pip "
        f"install zstandard cbor2, or use a Python that has them", line)


def test_trace_model_and_extension_load_trace_ct(python_ct, tmp_path):
    """TraceModel.load and Extension.load give the same results on the
    JSON and the CTFS recording of one run."""
    folders = [tmp_path / "trace-json", tmp_path / "trace-ctfs"]
    for folder, format in zip(folders, (None, "ctfs")):
        process = record_as(python_ct, folder, format,
                            PROGRAMS / "assignments.py", cwd=tmp_path)
        assert process.returncode == 0, process.stderr
    from_json, from_ctfs = (TraceModel.load(f) for f in folders)
    assert (folders[1] / "trace.ct").is_file()

    def replayed(model):
        return ([(s.index, s.path, s.line, s.call.name, s.values)
                 for s in model.steps], model.root.outline(), model.output(),
                [c.args for c in model.calls_named("__init__")])
    assert replayed(from_ctfs) == replayed(from_json)
    json_ext, ctfs_ext = (Extension.load(f) for f in folders)
    assert ctfs_ext.assignments_to("d['k']") == \
        json_ext.assignments_to("d['k']") != []
    history = ctfs_ext.history("a", "main")
    assert history == json_ext.history("a", "main")
    assert [value for _, value in history] == [1, 3]
    assert (ctfs_ext.sites, ctfs_ext.assignments, ctfs_ext.values,
            ctfs_ext.exceptions) == (json_ext.sites, json_ext.assignments,
                                     json_ext.values, json_ext.exceptions)


# --- trace_extension.jsonl.zst ----------------------------------------------

ZST = "trace_extension.jsonl.zst"


@pytest.mark.parametrize("program", ["assignments.py", "subexpressions.py"])
def test_ctfs_extension_is_the_json_lines_compressed(python_ct, tmp_path,
                                                     program):
    """A CTFS recording's trace_extension.jsonl.zst decompresses to the
    bytes of the JSON recording's trace_extension.jsonl (both programs
    record the same lines on every run), and Extension.load reads the
    same records from it."""
    folders = [tmp_path / "trace-json", tmp_path / "trace-ctfs"]
    for folder, format in zip(folders, (None, "ctfs")):
        process = record_as(python_ct, folder, format, PROGRAMS / program,
                            cwd=tmp_path)
        assert process.returncode == 0, process.stderr
    plain, compressed = folders[0] / "trace_extension.jsonl", folders[1] / ZST
    assert not (folders[0] / ZST).exists()
    assert not (folders[1] / "trace_extension.jsonl").exists()
    assert compressed.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"   # zstd magic
    assert ctfs.read_zstd(compressed) == plain.read_bytes()
    json_ext, ctfs_ext = (Extension.load(f) for f in folders)
    assert json_ext.assignments and json_ext.values
    assert (ctfs_ext.sites, ctfs_ext.assignments, ctfs_ext.values,
            ctfs_ext.exceptions) == (json_ext.sites, json_ext.assignments,
                                     json_ext.values, json_ext.exceptions)


def test_read_zstd_reads_across_frames_and_up_to_a_cut(tmp_path):
    """The recorder writes one frame per block of lines; a recording killed
    while writing leaves its last frame cut short: the frames before it,
    and the complete blocks of the cut one, are read; damage is an error."""
    compress = zstandard.ZstdCompressor().compress
    lines = [b'["value",%d]\n' % i for i in range(100_000)]
    whole = b"".join(lines)
    frames = [compress(b"".join(lines[:50_000])),
              compress(b"".join(lines[50_000:]))]
    path = tmp_path / ZST
    path.write_bytes(b"".join(frames))
    assert ctfs.read_zstd(path) == whole
    path.write_bytes(frames[0] + frames[1][:len(frames[1]) // 2])
    data = ctfs.read_zstd(path)
    assert data.startswith(b"".join(lines[:50_000]))
    assert whole.startswith(data) and len(data) < len(whole)
    path.write_bytes(frames[0] + b"junk")
    with pytest.raises(CtfsError, match="zstd"):
        ctfs.read_zstd(path)


def test_a_cut_short_zst_keeps_the_records_before_the_cut(python_ct,
                                                          tmp_path):
    """Like a plain file whose last line is cut short: trace_check finds
    no problem, Extension.load the records of the complete frames."""
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "assignments.py")
    full = Extension.load(folder)
    lines = ctfs.read_zstd(folder / ZST).splitlines(keepends=True)
    half = len(lines) // 2
    compress = zstandard.ZstdCompressor().compress
    second = compress(b"".join(lines[half:]))
    (folder / ZST).write_bytes(compress(b"".join(lines[:half]))
                               + second[:len(second) // 2])
    assert checker_output(folder) == (f"{folder}: OK\n", "", 0)
    cut = Extension.load(folder)
    kept = sum(line.startswith(b'["assign"') for line in lines[:half])
    assert kept and cut.assignments == full.assignments[:len(cut.assignments)]
    assert kept <= len(cut.assignments) < len(full.assignments)


def test_trace_check_reports_a_damaged_zst(python_ct, tmp_path):
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "five.py")
    data = bytearray((folder / ZST).read_bytes())
    data[0] ^= 0xFF                                     # the frame's magic
    (folder / ZST).write_bytes(bytes(data))
    line = reported_problem(folder)
    assert line.startswith(f"{folder}: {ZST}: ") and "zstd" in line


def test_trace_check_names_trace_ct_beside_a_zst(python_ct, tmp_path):
    """A step the trace does not have is reported against trace.ct."""
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "assignments.py")
    lines = ctfs.read_zstd(folder / ZST).splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(b'["assign"'))
    record = json.loads(lines[index])
    record[1] = 10_000_000
    lines[index] = json.dumps(record).encode() + b"\n"
    (folder / ZST).write_bytes(zstandard.ZstdCompressor().compress(b"".join(lines)))
    line = reported_problem(folder)
    assert f"{ZST} line " in line and "step 10000000 is not a Step of trace.ct" in line


def test_trace_check_wants_the_extension_file_of_the_trace_file(python_ct,
                                                                 tmp_path):
    """trace.ct goes with trace_extension.jsonl.zst, trace.json with
    trace_extension.jsonl; the other one, or both, is a problem."""
    folder = tmp_path / "trace"
    record_as(python_ct, folder, "ctfs", PROGRAMS / "five.py")
    plain = folder / "trace_extension.jsonl"
    plain.write_bytes(ctfs.read_zstd(folder / ZST))
    assert trace_check.check_trace_folder(folder) == [
        f"holds both trace_extension.jsonl and {ZST}"]
    (folder / ZST).unlink()
    assert trace_check.check_trace_folder(folder) == [
        f"trace_extension.jsonl beside trace.ct: expected {ZST}"]
    assert Extension.load(folder).exceptions == []
    (folder / ZST).write_bytes(zstandard.ZstdCompressor().compress(
        plain.read_bytes()))
    plain.unlink()
    events = read_trace(folder / "trace.ct").events
    (folder / "trace.json").write_text(json.dumps(events))
    (folder / "trace.ct").unlink()
    assert trace_check.check_trace_folder(folder) == [
        f"{ZST} beside trace.json: expected trace_extension.jsonl"]


def test_a_recording_removes_the_other_extension_file(python_ct, tmp_path):
    folder = tmp_path / "trace"
    for format, present, absent in (
            ("ctfs", ZST, "trace_extension.jsonl"),
            (None, "trace_extension.jsonl", ZST),
            ("ctfs", ZST, "trace_extension.jsonl")):
        process = record_as(python_ct, folder, format, PROGRAMS / "five.py")
        assert process.returncode == 0, process.stderr
        assert (folder / present).is_file() and not (folder / absent).exists()
        assert trace_check.check_trace_folder(folder) == []


def test_check_extension_without_zstandard(tmp_path, monkeypatch):
    """A Python without zstandard: one line says how to get it."""
    (tmp_path / ZST).write_bytes(zstandard.ZstdCompressor().compress(
        b'["format","python-ct-extension",1]\n'))
    assert check_extension(tmp_path / ZST, [], 0, 0, 0) == []
    monkeypatch.setattr(ctfs, "zstandard", None)
    assert check_extension(tmp_path / ZST, [], 0, 0, 0) == [
        f"{ZST}: cannot be read without the zstandard package: run "
        f"CODETRACER_RECORD=0 python-ct -m pip install zstandard cbor2, or "
        f"use a Python that has them"]
