#!/usr/bin/env python3
"""Build python-ct: CPython 3.13.5 patched to record CodeTracer traces.

    python3 build.py            patched interpreter  -> build/install/
    python3 build.py --stock    unpatched twin       -> build/stock/

The steps, in the order this file runs them:

  1. check the system build dependencies (install them if allowed);
  2. get the pinned source tarball (--source, the cache, python.org or
     Debian's source package) and verify its sha256;
  3. extract it into build/src/<flavour>/ and, for the patched flavour,
     apply cpython-patches/3.13/series and copy recorder/c/ into
     Modules/_ctrecord/;
  4. configure, make, make install;
  5. patched flavour: place the python-ct launcher and the python_ct package.

Re-running rebuilds only what changed. Uses the Python standard library only.
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Pinned downloads. The Debian orig tarball is byte-identical to the
# python.org one (same sha256); it is the fallback where python.org is
# unreachable.
DOWNLOADS = {
    "cpython": {
        "version": "3.13.5",
        "filename": "Python-3.13.5.tar.xz",
        "url": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
        "sha256": "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",  # noqa: E501
        "debian_source_package": "python3.13",
        "debian_suite": "trixie",
        "debian_filename": "python3.13_3.13.5.orig.tar.xz",
    },
}
CPYTHON = DOWNLOADS["cpython"]

ROOT = Path(__file__).resolve().parent
BUILD_DIR = ROOT / "build"
LOG_DIR = BUILD_DIR / "logs"
DEFAULT_CACHE_DIR = BUILD_DIR / "cache"
CACHE_ENV_VAR = "PYTHON_CT_CACHE"
PATCH_DIR = ROOT / "cpython-patches" / "3.13"
RECORDER_DIR = ROOT / "recorder"
RECORDER_C_DIR = RECORDER_DIR / "c"
LAUNCHER = RECORDER_DIR / "python-ct"
PYTHON_PACKAGE = RECORDER_DIR / "python" / "python_ct"
STAMP_NAME = ".python-ct-stamp.json"

DOWNLOAD_TIMEOUT_SECONDS = 15
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEFAULT_DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
APT_SOURCE_FILES = (
    [Path("/etc/apt/sources.list")]
    + sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    + sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
)

# Headers CPython's configure looks for, and the Debian package of each.
HEADER_PACKAGES = {
    "zlib.h": "zlib1g-dev",
    "openssl/ssl.h": "libssl-dev",
    "ffi.h": "libffi-dev",
    "bzlib.h": "libbz2-dev",
    "lzma.h": "liblzma-dev",
    "sqlite3.h": "libsqlite3-dev",
    "readline/readline.h": "libreadline-dev",
    "ncurses.h": "libncurses-dev",
    "uuid/uuid.h": "uuid-dev",
    "gdbm.h": "libgdbm-dev",
    "zstd.h": "libzstd-dev",   # python-ct's CTFS writer (trace.ct)
}
COMMAND_PACKAGES = {
    "make": "make",
    "gcc": "gcc",
    "patch": "patch",
    "xz": "xz-utils",
}
LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class Flavour:
    name: str  # names its folder in build/src/ and its logs
    source_parent: Path
    install_dir: Path
    patched: bool

    @property
    def source_dir(self):
        return self.source_parent / f"Python-{CPYTHON['version']}"


PATCHED = Flavour("ct", BUILD_DIR / "src" / "ct", BUILD_DIR / "install", True)
STOCK = Flavour("stock", BUILD_DIR / "src" / "stock", BUILD_DIR / "stock",
                False)


class BuildError(Exception):
    """A failure explained to the user in one line."""


# --- Output and commands ----------------------------------------------------

def say(message):
    print(f"[build.py] {message}", flush=True)


def shown(path):
    """Path relative to the current directory when inside it, else absolute."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@contextlib.contextmanager
def phase(name):
    say(f"{name} ...")
    started = time.monotonic()
    yield
    say(f"{name} ... done in {time.monotonic() - started:.1f} s")


def new_log(name):
    """An empty log file build/logs/<name>.log; commands append to it."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = LOG_DIR / f"{name}.log"
    path.write_text("")
    return path


def run(command, log_path, what, cwd=None, env=None):
    """Run command with its output appended to log_path.

    On failure show the log's tail and raise BuildError naming `what`.
    """
    command = [str(part) for part in command]
    with open(log_path, "a") as log:
        log.write(f"$ {shlex.join(command)}\n")
        log.flush()
        try:
            exit_code = subprocess.run(
                command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT).returncode
        except FileNotFoundError:
            raise BuildError(
                f"{what} failed: command not found: {command[0]}") from None
    if exit_code != 0:
        print_log_tail(log_path)
        raise BuildError(
            f"{what} failed (exit {exit_code}); full log: {shown(log_path)}")


def print_log_tail(log_path):
    lines = log_path.read_text(errors="replace").splitlines()
    print(f"--- last {LOG_TAIL_LINES} lines of {shown(log_path)} ---",
          file=sys.stderr)
    for line in lines[-LOG_TAIL_LINES:]:
        print(line, file=sys.stderr)
    print("---", file=sys.stderr)


# --- 1. System build dependencies -------------------------------------------

def header_search_dirs():
    # gcc may itself be missing at this point, so also try the usual
    # x86_64 multiarch folder (where Debian puts ffi.h) without asking it.
    dirs = [Path("/usr/include"), Path("/usr/local/include"),
            Path("/usr/include/x86_64-linux-gnu")]
    multiarch = gcc_multiarch()
    if multiarch:
        dirs.append(Path("/usr/include") / multiarch)
    return list(dict.fromkeys(dirs))


def gcc_multiarch():
    try:
        result = subprocess.run(["gcc", "-print-multiarch"],
                                capture_output=True, text=True)
    except FileNotFoundError:
        return ""
    return result.stdout.strip()


def missing_packages():
    dirs = header_search_dirs()
    missing = [package for header, package in HEADER_PACKAGES.items()
               if not any((folder / header).is_file() for folder in dirs)]
    missing += [package for command, package in COMMAND_PACKAGES.items()
                if shutil.which(command) is None]
    return missing


def ensure_build_dependencies(install_allowed):
    missing = missing_packages()
    if not missing:
        say("build dependencies: all present")
        return
    is_root = os.geteuid() == 0
    sudo = [] if is_root else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", *missing]
    if not (is_root or install_allowed):
        raise BuildError(
            f"missing build dependencies: {' '.join(missing)}; install them "
            f"with `{shlex.join(install)}` or re-run with --install-deps")
    with phase(f"install build dependencies ({' '.join(missing)})"):
        log = new_log("deps-apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # A fresh container has empty package lists: refresh them first.
        run([*sudo, "apt-get", "update"], log, "apt-get update", env=env)
        run(install, log, "installing build dependencies", env=env)
    still_missing = missing_packages()
    if still_missing:
        raise BuildError("still missing after apt-get install: "
                         + " ".join(still_missing))


# --- 2. Source tarball ------------------------------------------------------

def cache_dir():
    configured = os.environ.get(CACHE_ENV_VAR)
    return Path(configured).expanduser().resolve() if configured \
        else DEFAULT_CACHE_DIR


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_pinned_sha256(path):
    actual = sha256_of(path)
    if actual != CPYTHON["sha256"]:
        raise BuildError(
            f"{shown(path)} has sha256 {actual}, expected {CPYTHON['sha256']} "
            f"(Python {CPYTHON['version']}); delete or replace it")


def store_in_cache(path, cached):
    if path.resolve() == cached.resolve():
        return
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(cached.name + ".part")
    shutil.copyfile(path, partial)
    partial.replace(cached)  # atomic: the cache never holds half a file


def fetch_tarball(source):
    """The verified tarball, now in the cache folder."""
    cached = cache_dir() / CPYTHON["filename"]
    if source is not None:
        if not source.is_file():
            raise BuildError(f"--source {source}: no such file")
        say(f"using --source {shown(source)}")
        tarball = source
    elif cached.is_file():
        say(f"using cached {shown(cached)}")
        tarball = cached
    else:
        tarball = download_from_python_org() or download_from_debian()
    require_pinned_sha256(tarball)
    store_in_cache(tarball, cached)
    return cached


def download_from_python_org():
    """The downloaded file, or None when python.org cannot be reached."""
    target = BUILD_DIR / "download" / CPYTHON["filename"]
    target.parent.mkdir(parents=True, exist_ok=True)
    say(f"downloading {CPYTHON['url']}")
    try:
        reply = urllib.request.urlopen(CPYTHON["url"],
                                       timeout=DOWNLOAD_TIMEOUT_SECONDS)
        with reply, open(target, "wb") as stream:
            shutil.copyfileobj(reply, stream)
    except OSError as error:
        say(f"python.org unreachable ({error}); "
            f"trying Debian's source package instead")
        return None
    return target


def download_from_debian():
    """Fetch Debian's orig tarball with apt-get, leaving the machine's apt
    configuration alone: sources list, package lists and caches are all
    private to build/apt/."""
    apt_dir = BUILD_DIR / "apt"
    sources_list = apt_dir / "sources.list"
    lists_dir = apt_dir / "lists"
    archives_dir = apt_dir / "archives"
    download_dir = apt_dir / "download"
    for folder in (lists_dir / "partial", archives_dir / "partial",
                   download_dir):
        folder.mkdir(parents=True, exist_ok=True)
    sources_list.write_text(debian_source_line() + "\n")
    options = [
        "-o", f"Dir::Etc::SourceList={sources_list}",
        "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", f"Dir::State::Lists={lists_dir}",
        "-o", f"Dir::Cache::Archives={archives_dir}",
        # Empty values keep apt from rewriting the machine's package caches.
        "-o", "Dir::Cache::pkgcache=",
        "-o", "Dir::Cache::srcpkgcache=",
    ]
    package = CPYTHON["debian_source_package"]
    say(f"downloading Debian source package {package} "
        f"({CPYTHON['debian_suite']}) with apt-get")
    log = new_log("debian-apt-get")
    run(["apt-get", *options, "update"], log, "apt-get update")
    run(["apt-get", *options, "source", "--download-only", package], log,
        f"apt-get source {package}", cwd=download_dir)
    tarball = download_dir / CPYTHON["debian_filename"]
    if not tarball.is_file():
        raise BuildError(f"apt-get source {package} did not download "
                         f"{CPYTHON['debian_filename']}; see {shown(log)}")
    return tarball


def debian_source_line():
    mirror, keyring = debian_mirror_and_keyring()
    options = f"[signed-by={keyring}] " if keyring else ""
    return f"deb-src {options}{mirror} {CPYTHON['debian_suite']} main"


def debian_mirror_and_keyring():
    """The Debian mirror this machine already uses (it is known to be
    reachable), with its keyring; else deb.debian.org."""
    for uri, keyring in configured_apt_sources():
        if uri.rstrip("/").endswith("/debian"):
            return uri, keyring or default_debian_keyring()
    return DEFAULT_DEBIAN_MIRROR, default_debian_keyring()


def default_debian_keyring():
    return DEFAULT_DEBIAN_KEYRING if Path(DEFAULT_DEBIAN_KEYRING).is_file() \
        else None


def configured_apt_sources():
    """(uri, keyring path or None) for every enabled apt source entry."""
    for path in APT_SOURCE_FILES:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            yield from deb822_sources(text)
        else:
            yield from one_line_sources(text)


def deb822_sources(text):
    for stanza in re.split(r"\n\s*\n", text):
        fields = deb822_fields(stanza)
        if fields.get("enabled", "yes").lower() == "no":
            continue
        keyring = keyring_path(fields.get("signed-by", ""))
        for uri in fields.get("uris", "").split():
            yield uri, keyring


def deb822_fields(stanza):
    """Field name (lower case) -> value; continuation lines are joined."""
    fields = {}
    name = None
    for line in stanza.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0].isspace() and name:
            fields[name] += "\n" + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            fields[name] = value.strip()
    return fields


def one_line_sources(text):
    entry = re.compile(r"^deb(?:-src)?\s+(?:\[([^\]]*)\]\s+)?(\S+)")
    for line in text.splitlines():
        match = entry.match(line.strip())
        if not match:
            continue
        options = dict(option.split("=", 1)
                       for option in (match.group(1) or "").split()
                       if "=" in option)
        yield match.group(2), keyring_path(options.get("signed-by", ""))


def keyring_path(signed_by):
    # Signed-By may also hold fingerprints or an inline key; only a file
    # path can be reused here.
    return signed_by if signed_by.startswith("/") and "\n" not in signed_by \
        else None


# --- 3. Source tree ---------------------------------------------------------

def read_stamp(source_dir):
    try:
        return json.loads((source_dir / STAMP_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_stamp(source_dir, stamp):
    (source_dir / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n")


def patch_series():
    """The patch files named by series, in order."""
    series = PATCH_DIR / "series"
    patches = []
    for line in series.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        patch = PATCH_DIR / name
        if not patch.is_file():
            raise BuildError(f"{shown(series)} names {name}, "
                             f"but {shown(patch)} does not exist")
        patches.append(patch)
    return patches


def patches_sha256():
    digest = hashlib.sha256((PATCH_DIR / "series").read_bytes())
    for patch in patch_series():
        digest.update(patch.name.encode() + b"\0" + patch.read_bytes())
    return digest.hexdigest()


def prepare_source_tree(flavour, tarball):
    """Extract (and patch) the tree unless its stamp shows it is current."""
    wanted = {
        "tarball_sha256": CPYTHON["sha256"],
        "patches_sha256": patches_sha256() if flavour.patched else None,
    }
    source_dir = flavour.source_dir
    if read_stamp(source_dir).get("source") == wanted:
        say(f"source tree {shown(source_dir)} is up to date")
        return
    with phase("extract"):
        shutil.rmtree(source_dir, ignore_errors=True)
        flavour.source_parent.mkdir(parents=True, exist_ok=True)
        run(["tar", "-xJf", tarball, "-C", flavour.source_parent],
            new_log(f"{flavour.name}-extract"), f"extracting {tarball.name}")
    if flavour.patched:
        with phase("patch"):
            apply_patches(source_dir, new_log(f"{flavour.name}-patch"))
    write_stamp(source_dir, {"source": wanted})


def apply_patches(source_dir, log):
    for patch in patch_series():
        run(["patch", "-p1", "--forward", "--batch", "-i", patch], log,
            f"applying {patch.name}", cwd=source_dir)


def recorder_sources():
    return sorted(list(RECORDER_C_DIR.glob("*.c"))
                  + list(RECORDER_C_DIR.glob("*.h")))


def sync_recorder_sources(source_dir):
    """Mirror recorder/c/ into Modules/_ctrecord/, writing only changed
    files so that make recompiles only those."""
    target_dir = source_dir / "Modules" / "_ctrecord"
    target_dir.mkdir(exist_ok=True)
    wanted = {source.name: source for source in recorder_sources()}
    if not wanted:
        say(f"warning: no *.c or *.h in {shown(RECORDER_C_DIR)}; "
            f"the _ctrecord module will not compile")
    changed = []
    for name, source in wanted.items():
        target = target_dir / name
        if not target.is_file() or target.read_bytes() != source.read_bytes():
            # copyfile gives the copy a fresh mtime, so make sees it as new.
            shutil.copyfile(source, target)
            changed.append(name)
    # Only sources: the build also leaves its *.o files in this folder.
    for stale in [*target_dir.glob("*.c"), *target_dir.glob("*.h")]:
        if stale.name not in wanted:
            stale.unlink()
            changed.append(stale.name)
    # makesetup's rules do not list our headers as prerequisites.
    if any(name.endswith(".h") for name in changed):
        for c_file in target_dir.glob("*.c"):
            c_file.touch()
    say(f"recorder sources: {len(changed)} changed "
        f"({', '.join(changed) or 'none'})")


# --- 4. Configure, make, install --------------------------------------------

def configure_flags(flavour, optimized):
    flags = [f"--prefix={flavour.install_dir}"]
    if optimized:
        flags += ["--enable-optimizations", "--with-lto"]
    return flags


def configure(flavour, flags):
    source_dir = flavour.source_dir
    stamp = read_stamp(source_dir)
    had_makefile = (source_dir / "Makefile").is_file()
    if had_makefile and stamp.get("configure_flags") == flags:
        say("configure: flags unchanged, skipped")
        return
    with phase("configure"):
        run(["./configure", *flags], new_log(f"{flavour.name}-configure"),
            "configure", cwd=source_dir)
    if had_makefile:
        # Objects do not depend on the configure flags: without a clean,
        # those built with the old flags would be kept.
        with phase("make clean"):
            run(["make", "clean"], new_log(f"{flavour.name}-clean"),
                "make clean", cwd=source_dir)
    stamp["configure_flags"] = flags
    write_stamp(source_dir, stamp)


def make_and_install(flavour, jobs):
    with phase("make"):
        run(["make", f"-j{jobs}"], new_log(f"{flavour.name}-make"), "make",
            cwd=flavour.source_dir)
    with phase("install"):
        run(["make", "install"], new_log(f"{flavour.name}-install"),
            "make install", cwd=flavour.source_dir)


# --- 5. Launcher and Python package (patched flavour) -----------------------

def install_recorder_extras(install_dir):
    if LAUNCHER.is_file():
        launcher = install_dir / "bin" / "python-ct"
        shutil.copyfile(LAUNCHER, launcher)
        launcher.chmod(0o755)
    else:
        say(f"warning: {shown(LAUNCHER)} does not exist yet; "
            f"no python-ct launcher installed")
    if PYTHON_PACKAGE.is_dir():
        site_packages = install_dir / "lib" / "python3.13" / "site-packages"
        target = site_packages / PYTHON_PACKAGE.name
        # Replace rather than merge, so files deleted upstream go too.
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(PYTHON_PACKAGE, target,
                        ignore=shutil.ignore_patterns("__pycache__"))


def interpreter_path(flavour):
    launcher = flavour.install_dir / "bin" / "python-ct"
    if flavour.patched and launcher.is_file():
        return launcher
    return flavour.install_dir / "bin" / "python3"


# --- Command line -----------------------------------------------------------

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args():
    parser = argparse.ArgumentParser(
        description=f"Build python-ct (CPython {CPYTHON['version']} patched "
                    f"to record CodeTracer traces) into build/install/, or "
                    f"with --stock the unpatched twin into build/stock/.",
        epilog=f"The source tarball comes from --source, else the cache "
               f"folder (build/cache/, or ${CACHE_ENV_VAR} if set), else "
               f"python.org, else Debian's {CPYTHON['debian_source_package']} "
               f"source package ({CPYTHON['debian_suite']}) fetched with a "
               f"private apt configuration under build/apt/. Its sha256 is "
               f"always checked. Command output goes to "
               f"build/logs/<flavour>-<phase>.log (flavour: ct or stock). "
               f"Re-running rebuilds only what changed; changing the patches "
               f"re-extracts the tree. The result is build/install/bin/"
               f"python-ct (patched) or build/stock/bin/python3 (stock).")
    parser.add_argument(
        "--stock", action="store_true",
        help="build the unpatched interpreter into build/stock/ instead")
    parser.add_argument(
        "--optimized", action="store_true",
        help="configure with --enable-optimizations --with-lto (PGO + LTO; "
             "much slower to build)")
    parser.add_argument(
        "--source", type=Path, metavar="PATH",
        help=f"use this local {CPYTHON['filename']} instead of the cache "
             f"or a download")
    parser.add_argument(
        "--jobs", type=positive_int, default=os.cpu_count() or 1,
        metavar="N", help="parallel make jobs (default: %(default)s, the "
                          "number of CPUs)")
    parser.add_argument(
        "--install-deps", action="store_true",
        help="install missing build dependencies with apt-get (through "
             "sudo when not root); root installs them without this flag")
    parser.add_argument(
        "--prepare-only", action="store_true",
        help="stop once the source tree is extracted and patched (and, for "
             "the patched flavour, holds the recorder sources); useful "
             "when working on the patches")
    return parser.parse_args()


def build(args):
    flavour = STOCK if args.stock else PATCHED
    say(f"building the {'stock' if args.stock else 'patched'} interpreter "
        f"into {shown(flavour.install_dir)}")
    ensure_build_dependencies(args.install_deps)
    with phase("download"):
        tarball = fetch_tarball(args.source)
    prepare_source_tree(flavour, tarball)
    if flavour.patched:
        sync_recorder_sources(flavour.source_dir)
    if args.prepare_only:
        say(f"source tree ready: {shown(flavour.source_dir)}")
        return
    configure(flavour, configure_flags(flavour, args.optimized))
    make_and_install(flavour, args.jobs)
    if flavour.patched:
        install_recorder_extras(flavour.install_dir)
    say(f"interpreter: {shown(interpreter_path(flavour))}")


def main():
    args = parse_args()
    started = time.monotonic()
    try:
        build(args)
    except BuildError as error:
        print(f"[build.py] error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("[build.py] interrupted", file=sys.stderr)
        return 130
    say(f"finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
