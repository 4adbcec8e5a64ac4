"""What python-ct costs with recording off, measured two ways that one
noisy run cannot sway.

1. Instructions.  Stock CPython and python-ct with CODETRACER_RECORD=0 (as
   `bench/run.py`'s `off`) each run every workload of bench/workloads/ once
   under `valgrind --tool=callgrind`.  The counts cover the whole process
   and repeat exactly, so their ratio is the cost.  Target: within 0.5%.
2. pyperf.  The pyperformance benchmarks of `bench/run.py --pyperformance`
   run under pyperf itself (worker processes, calibrated loops), with stock
   and with python-ct's interpreter not recording (pyperf starts its
   workers as `python3.13 script`, without python-ct's `-X ctrace`), one
   after the other, round by round.  `pyperf compare_to` then gives each
   benchmark's ratio of means, whether it is significant, and their
   geometric mean; a table of the fastest runs' ratios follows.  On a
   shared machine the noise only ever adds time (runs of one benchmark
   spread by half and more on a 2-core VM), so the fastest run is the
   nearest to what the code itself costs.  Target: within 1%.

The pyperf suites are saved as bench/results/pyperformance-stock.json and
bench/results/pyperformance-off.json.

Usage: build/test-venv/bin/python bench/off_cost.py [--rounds N]
       [--skip-callgrind] [--skip-pyperf]     (about 2 minutes a round)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pyperf

from run import RESULTS, ROOT, STOCK, WORKLOADS, pyperformance_workloads

PYTHON_CT_INTERPRETER = ROOT / "build/install/bin/python3.13"
INSTRUCTION_TARGET = 0.005


def instructions(command, env, folder):
    """Instructions callgrind counts for one run of `command` (all threads)."""
    out = folder / "callgrind.out"
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                           *command], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed under callgrind:\n{proc.stderr}")
    for line in out.read_text().splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    sys.exit(f"no instruction count in {out}")


def compare_instructions():
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed to count instructions: apt-get install valgrind")
    # Same hash seed: dicts and sets then lay out alike in both runs.
    env = dict(os.environ, PYTHONHASHSEED="0", CODETRACER_RECORD="0")
    print("instructions, whole process (callgrind)")
    print(f"{'workload':<14}{'stock':>16}{'off':>16}{'off/stock':>12}")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="python-ct-off-") as folder:
        for workload in sorted(WORKLOADS.glob("*.py")):
            stock = instructions([STOCK, workload], env, Path(folder))
            off = instructions([PYTHON_CT_INTERPRETER, "-X", "ctrace", workload], env,
                               Path(folder))
            ratio = off / stock
            worst = max(worst, abs(ratio - 1))
            print(f"{workload.stem:<14}{stock:>16,}{off:>16,}{ratio:>12.4f}")
    verdict = "within" if worst <= INSTRUCTION_TARGET else "NOT within"
    print(f"largest difference {worst:.2%}: {verdict} the {INSTRUCTION_TARGET:.1%} target")


def compare_pyperf(rounds):
    RESULTS.mkdir(exist_ok=True)
    suites = {"stock": RESULTS / "pyperformance-stock.json",
              "off": RESULTS / "pyperformance-off.json"}
    for suite in suites.values():
        suite.unlink(missing_ok=True)
    interpreters = {"stock": STOCK, "off": PYTHON_CT_INTERPRETER}
    with tempfile.TemporaryDirectory(prefix="python-ct-off-") as folder:
        # The workers import pyperf from here: pyperf passes PYTHONPATH on.
        shim = Path(folder) / "path"
        shim.mkdir()
        (shim / "pyperf").symlink_to(Path(pyperf.__file__).parent)
        env = dict(os.environ, PYTHONPATH=str(shim))
        env.pop("CODETRACER_RECORD", None)
        scripts = pyperformance_workloads(Path(folder))
        for round_no in range(rounds):
            # Either interpreter runs first in every other round.
            order = list(interpreters.items())[::1 if round_no % 2 == 0 else -1]
            for script in scripts:
                for config, interpreter in order:
                    proc = subprocess.run(
                        [interpreter, script, "--fast", "--quiet", "--append",
                         suites[config]], env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, text=True)
                    if proc.returncode != 0:
                        sys.exit(f"{config} {script.stem} failed:\n{proc.stderr}")
            print(f"pyperf round {round_no + 1}/{rounds} done", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pyperf", "compare_to", suites["stock"],
                    suites["off"], "--table"], check=True)
    report_fastest_runs(suites)


def report_fastest_runs(suites):
    fastest = {config: {b.get_name(): min(b.get_values())
                        for b in pyperf.BenchmarkSuite.load(str(suite)).get_benchmarks()}
               for config, suite in suites.items()}
    print("fastest run, ms")
    print(f"{'benchmark':<16}{'stock':>10}{'off':>10}{'off/stock':>12}")
    ratios = []
    for name, stock in fastest["stock"].items():
        off = fastest["off"][name]
        ratios.append(off / stock)
        print(f"{name:<16}{stock * 1e3:>10.1f}{off * 1e3:>10.1f}{off / stock:>12.3f}")
    print(f"{'geomean':<36}{statistics.geometric_mean(ratios):>12.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # A slow spell can last a whole pyperf run: the fastest run needs a
    # few runs to pick from (one round once gave nqueens 1.55x).
    parser.add_argument("--rounds", type=int, default=5,
                        help="pyperf runs per benchmark and interpreter (default 5)")
    parser.add_argument("--skip-callgrind", action="store_true")
    parser.add_argument("--skip-pyperf", action="store_true")
    args = parser.parse_args()
    for needed in (STOCK, PYTHON_CT_INTERPRETER):
        if not needed.exists():
            sys.exit(f"{needed} is missing: python3 build.py && python3 build.py --stock")
    if not args.skip_callgrind:
        compare_instructions()
    if not args.skip_pyperf:
        compare_pyperf(args.rounds)


if __name__ == "__main__":
    main()
