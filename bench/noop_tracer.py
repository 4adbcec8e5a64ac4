"""Run a program under a tracer that does nothing, to measure what the
tracing hooks alone cost: python noop_tracer.py settrace|monitoring PROGRAM.

settrace:    sys.settrace with a Python function that returns itself (line,
             call and return events, nothing recorded).
monitoring:  sys.monitoring with Python callbacks for PY_START, PY_RETURN
             and LINE that return None (PEP 669, what the upstream recorder
             0.3.0 uses).
"""

import runpy
import sys


def trace(frame, event, arg):
    return trace


def nothing(*args):
    return None


def main():
    kind, program = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    if kind == "settrace":
        sys.settrace(trace)
    elif kind == "monitoring":
        monitoring = sys.monitoring
        tool = monitoring.PROFILER_ID
        monitoring.use_tool_id(tool, "noop")
        events = monitoring.events
        for event in (events.PY_START, events.PY_RETURN, events.LINE):
            monitoring.register_callback(tool, event, nothing)
        monitoring.set_events(tool, events.PY_START | events.PY_RETURN | events.LINE)
    else:
        sys.exit(f"unknown tracer {kind!r}")
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
