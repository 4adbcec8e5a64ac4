"""Just enough of pyperf's API for pyperformance's benchmark scripts to run
their benchmark once, in this process, when bench/run.py runs them as
workloads (pyperf itself would spawn worker processes and calibrate)."""

import argparse
import time

perf_counter = time.perf_counter


class Runner:
    def __init__(self, *args, add_cmdline_args=None, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser()
        self.args = None

    def parse_args(self, args=None):
        self.args = self.argparser.parse_args([] if args is None else args)
        return self.args

    def bench_func(self, name, func, *args, **kwargs):
        func(*args)

    def bench_time_func(self, name, func, *args, **kwargs):
        func(1, *args)

    def bench_async_func(self, name, func, *args, **kwargs):
        import asyncio
        asyncio.run(func(*args))
