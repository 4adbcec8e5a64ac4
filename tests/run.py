#!/usr/bin/env python3
"""Run the python-ct test suite:  python3 tests/run.py [pytest arguments]

1. builds python-ct and its stock twin (python3 build.py [--stock]; fast
   when nothing changed);
2. makes build/test-venv (this python3) with pytest, zstandard and cbor2
   (python_ct.ctfs reads trace.ct with them), and pyperf for bench/;
3. makes build/upstream-venv (the stock twin) with the upstream recorder,
   which tests/test_upstream.py compares python-ct with;
4. runs pytest on tests/ and exits with its exit code.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
UPSTREAM_RECORDER = "codetracer-python-recorder==0.3.0"


def run(*command):
    print("tests/run.py:", " ".join(map(str, command)), flush=True)
    if subprocess.run(command, cwd=REPO).returncode != 0:
        sys.exit(f"tests/run.py: failed: {' '.join(map(str, command))}")


def venv_with(venv, base_python, *requirements):
    """Make a venv (once) and install requirements into it."""
    python = venv / "bin" / "python"
    if not python.is_file():
        run(base_python, "-m", "venv", venv)
    run(python, "-m", "pip", "install", "-q", *requirements)
    return python


def main():
    run(sys.executable, "build.py")
    run(sys.executable, "build.py", "--stock")
    test_python = venv_with(BUILD / "test-venv", sys.executable, "pytest",
                            "zstandard", "cbor2", "pyperf")
    venv_with(BUILD / "upstream-venv", BUILD / "stock" / "bin" / "python3",
              UPSTREAM_RECORDER)
    pytest = [test_python, "-m", "pytest", "tests", "-q", *sys.argv[1:]]
    return subprocess.run(pytest, cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
