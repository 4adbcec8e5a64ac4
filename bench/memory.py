"""Peak memory of a long recording: python-ct must stream its trace.

Runs a loop of about STEPS recorded steps (default 50 million) under stock
CPython and under python-ct recording it as JSON and as CTFS, and prints
each run's peak RSS (GNU time), the difference to stock, the steps
recorded and the trace size.  The trace goes to a temporary folder that is
removed afterwards (the JSON trace of 50 million steps takes some 7 GB).

Usage: build/test-venv/bin/python bench/memory.py [--steps N] [--formats json,ctfs]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOCK = ROOT / "build/stock/bin/python3"
PYTHON_CT = ROOT / "build/install/bin/python-ct"
TIME = "/usr/bin/time"
SUMMARY = re.compile(r"python-ct: trace in .* \((\d+) steps")

# Two steps per iteration: the `for` line and its body.
PROGRAM = """
import sys

def work(iterations):
    total = 0
    for i in range(iterations):
        total += i % 7
    return total

print(work(int(sys.argv[1])))
"""


def run(command, env, folder):
    rss_file = folder / "peak-rss"
    start = time.perf_counter()
    proc = subprocess.run([TIME, "-f", "%M", "-o", str(rss_file), *command], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{proc.stderr}")
    match = SUMMARY.search(proc.stderr)
    return int(rss_file.read_text().split()[-1]) / 1024, elapsed, match and int(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50_000_000)
    parser.add_argument("--formats", default="json,ctfs")
    args = parser.parse_args()
    iterations = str(args.steps // 2)
    with tempfile.TemporaryDirectory(prefix="python-ct-memory-") as tmp:
        folder = Path(tmp)
        program = folder / "loop.py"
        program.write_text(PROGRAM)
        stock_rss, stock_time, _ = run([STOCK, program, iterations], dict(os.environ), folder)
        print(f"{'stock':<12} peak RSS {stock_rss:7.1f} MB  {stock_time:7.1f} s")
        for fmt in args.formats.split(","):
            trace = folder / f"trace-{fmt}"
            env = dict(os.environ, CODETRACER_DB_TRACE_PATH=str(trace), CODETRACER_FORMAT=fmt)
            rss, elapsed, steps = run([PYTHON_CT, program, iterations], env, folder)
            size = sum(f.stat().st_size for f in trace.rglob("*") if f.is_file())
            print(f"python-ct {fmt:<4} peak RSS {rss:7.1f} MB  {elapsed:7.1f} s  "
                  f"(+{rss - stock_rss:.1f} MB over stock; {steps} steps, "
                  f"{size / 1e6:.1f} MB of trace)")
            shutil.rmtree(trace)


if __name__ == "__main__":
    main()
