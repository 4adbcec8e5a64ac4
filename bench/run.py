"""Benchmark python-ct against stock CPython 3.13.5.

Runs each workload under every configuration, interleaved round by round
(stock, off, on-base, ..., stock, off, on-base, ...) so that machine noise hits all of
them alike, and prints median wall times and their ratios to stock.  The
timings are also saved as pyperf suites (bench/results/<config>.json), so
`python -m pyperf compare_to bench/results/stock.json bench/results/off.json`
gives pyperf's own comparison.

Configurations:
  stock      build/stock/bin/python3 (unpatched, same configure flags)
  off        python-ct with CODETRACER_RECORD=0
  on-base    python-ct recording lines, calls, arguments, returns and locals
             (JSON), without assignments and subexpressions
  on-assign  on-base plus assignments
  on         everything: on-assign plus subexpression values (the default)
  ctfs-base, ctfs-assign, ctfs
             the same three, writing trace.ct (CODETRACER_FORMAT=ctfs)
  settrace   stock with a no-op sys.settrace tracer (bench/noop_tracer.py)
  monitoring stock with no-op sys.monitoring callbacks for PY_START,
             PY_RETURN and LINE (bench/noop_tracer.py)
  upstream   codetracer-python-recorder 0.3.0 on stock (--with-upstream)

Workloads: bench/workloads/*.py, and with --pyperformance a subset of the
pyperformance benchmarks (pip install pyperformance into the test venv),
each run once in-process through bench/pyperf_shim/ instead of pyperf.

Usage: build/test-venv/bin/python bench/run.py [--rounds N] [--with-upstream]
       [--configs on,settrace,...] [--pyperformance]
       [workload ...]      (names of bench/workloads/ or, with
                            --pyperformance, pyperformance benchmarks)
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyperf

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = Path(__file__).resolve().parent / "workloads"
RESULTS = Path(__file__).resolve().parent / "results"
STOCK = ROOT / "build/stock/bin/python3"
PYTHON_CT = ROOT / "build/install/bin/python-ct"
UPSTREAM = ROOT / "build/upstream-venv/bin/python"
TIME = "/usr/bin/time"        # GNU time (Debian package `time`)
PYPERF_SHIM = Path(__file__).resolve().parent / "pyperf_shim"
# Pure-Python pyperformance benchmarks: numeric, object-oriented, recursive.
PYPERFORMANCE = ["nbody", "richards", "float", "spectral_norm", "deltablue",
                 "nqueens", "fannkuch", "raytrace"]
NOOP_TRACER = Path(__file__).resolve().parent / "noop_tracer.py"
SUMMARY = re.compile(r"python-ct: trace in .* \((\d+) steps")


# The python-ct configurations and the switches they set.
PYTHON_CT_SWITCHES = {
    "off": {"CODETRACER_RECORD": "0"},
    "on-base": {"CODETRACER_ASSIGNMENTS": "0", "CODETRACER_SUBEXPRESSIONS": "0"},
    "on-assign": {"CODETRACER_SUBEXPRESSIONS": "0"},
    "on": {},
    "ctfs-base": {"CODETRACER_FORMAT": "ctfs", "CODETRACER_ASSIGNMENTS": "0",
                  "CODETRACER_SUBEXPRESSIONS": "0"},
    "ctfs-assign": {"CODETRACER_FORMAT": "ctfs", "CODETRACER_SUBEXPRESSIONS": "0"},
    "ctfs": {"CODETRACER_FORMAT": "ctfs"},
}


def command_for(config, workload, trace_dir):
    """The command line and environment of one run."""
    env = dict(os.environ, CODETRACER_DB_TRACE_PATH=str(trace_dir),
               PYTHONPATH=str(PYPERF_SHIM))
    if config == "stock":
        return [str(STOCK), str(workload)], env
    if config in PYTHON_CT_SWITCHES:
        return [str(PYTHON_CT), str(workload)], dict(env, **PYTHON_CT_SWITCHES[config])
    if config in ("settrace", "monitoring"):
        return [str(STOCK), str(NOOP_TRACER), config, str(workload)], env
    if config == "upstream":
        return [str(UPSTREAM), "-m", "codetracer_python_recorder", "--trace-dir",
                str(trace_dir), "--format", "json", str(workload)], env
    raise ValueError(config)


def run_once(config, workload):
    """Wall time and peak RSS (kB) of one run, and for recordings the
    trace's steps and bytes."""
    trace_dir = Path(tempfile.mkdtemp(prefix="python-ct-bench-"))
    try:
        cmd, env = command_for(config, workload, trace_dir)
        # GNU time reports the program's own peak RSS; the rusage of a
        # child of this process would include this process's image, copied
        # before the exec.
        rss_file = trace_dir / "peak-rss"
        cmd = [TIME, "-f", "%M", "-o", str(rss_file), *cmd]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{config} {workload.name} failed:\n{proc.stderr}")
        rss = int(rss_file.read_text().split()[-1])
        rss_file.unlink()
        match = SUMMARY.search(proc.stderr)
        steps = int(match.group(1)) if match else None
        size = sum(f.stat().st_size for f in trace_dir.rglob("*") if f.is_file())
        return elapsed, rss, steps, size
    finally:
        shutil.rmtree(trace_dir, ignore_errors=True)


def pyperformance_workloads(folder):
    """Copy the chosen pyperformance benchmark scripts into `folder` as
    <name>.py: outside site-packages, python-ct records them."""
    try:
        import pyperformance
    except ImportError:
        sys.exit("--pyperformance needs pyperformance: "
                 "build/test-venv/bin/python -m pip install pyperformance")
    benchmarks = Path(pyperformance.__file__).parent / "data-files" / "benchmarks"
    copies = []
    for name in PYPERFORMANCE:
        copy = folder / f"{name}.py"
        shutil.copyfile(benchmarks / f"bm_{name}" / "run_benchmark.py", copy)
        copies.append(copy)
    return copies


def measure(configs, workloads, rounds):
    times = {(c, w.stem): [] for c in configs for w in workloads}
    peak_rss = {}
    traces = {}
    for round_no in range(rounds):
        for workload in workloads:
            for config in configs:
                elapsed, rss, steps, size = run_once(config, workload)
                times[config, workload.stem].append(elapsed)
                peak_rss[config, workload.stem] = max(rss, peak_rss.get((config, workload.stem), 0))
                if steps:
                    traces[config, workload.stem] = (steps, size)
        print(f"round {round_no + 1}/{rounds} done", file=sys.stderr)
    return times, peak_rss, traces


def save_pyperf(configs, workloads, times):
    RESULTS.mkdir(exist_ok=True)
    for config in configs:
        benchmarks = []
        for workload in workloads:
            run = pyperf.Run(times[config, workload.stem],
                             metadata={"name": workload.stem, "unit": "second"},
                             collect_metadata=False)
            benchmarks.append(pyperf.Benchmark([run]))
        pyperf.BenchmarkSuite(benchmarks).dump(str(RESULTS / f"{config}.json"),
                                               replace=True)


def report(configs, workloads, times, peak_rss, traces):
    header = f"{'workload':<14}" + "".join(f"{c:>17}" for c in configs)
    print("median wall time, seconds (ratio to stock)")
    print(header)
    ratios = {c: [] for c in configs}
    for workload in workloads:
        base = statistics.median(times["stock", workload.stem])
        cells = []
        for config in configs:
            median = statistics.median(times[config, workload.stem])
            ratios[config].append(median / base)
            cells.append(f"{median:7.3f} ({median / base:6.2f}x)"
                         if config != "stock" else f"{median:7.3f}")
        print(f"{workload.stem:<14}" + "".join(f"{c:>17}" for c in cells))
    print(f"{'geomean':<14}" + "".join(
        f"{statistics.geometric_mean(ratios[c]):>16.2f}x" for c in configs))
    print("peak RSS, MB")
    print(f"{'workload':<14}" + "".join(f"{c:>17}" for c in configs))
    for workload in workloads:
        print(f"{workload.stem:<14}" + "".join(
            f"{peak_rss[c, workload.stem] / 1024:>17.1f}" for c in configs))
    for (config, name), (steps, size) in sorted(traces.items()):
        print(f"{config} {name}: {steps} steps, {size} trace bytes, "
              f"{size / steps:.0f} bytes/step")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--with-upstream", action="store_true")
    parser.add_argument("--configs", help="comma-separated subset of the configurations")
    parser.add_argument("--pyperformance", action="store_true",
                        help="also run a subset of the pyperformance benchmarks")
    parser.add_argument("workloads", nargs="*")
    args = parser.parse_args()
    if not Path(TIME).exists():
        sys.exit(f"{TIME} (GNU time) is needed to measure peak RSS: apt-get install time")
    workloads = sorted(WORKLOADS.glob("*.py"))
    if args.pyperformance:
        workloads += pyperformance_workloads(Path(tempfile.mkdtemp(prefix="python-ct-pyperformance-")))
    if args.workloads:
        unknown = set(args.workloads) - {w.stem for w in workloads}
        if unknown:
            sys.exit(f"unknown workloads: {' '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w.stem in args.workloads]
    configs = (["stock", *PYTHON_CT_SWITCHES, "settrace", "monitoring"]
               + (["upstream"] if args.with_upstream else []))
    if args.configs:
        configs = ["stock"] + [c for c in args.configs.split(",") if c != "stock"]
    times, peak_rss, traces = measure(configs, workloads, args.rounds)
    save_pyperf(configs, workloads, times)
    report(configs, workloads, times, peak_rss, traces)


if __name__ == "__main__":
    main()
