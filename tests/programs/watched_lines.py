"""Another sys.monitoring tool watches main()'s lines: its callback, a
dict's __setitem__ (C, no code of this program), stores the line number
at each line, also on lines that only move locals."""

import sys

TOOL = 3


def main():
    lines = {}
    events = sys.monitoring.events
    sys.monitoring.use_tool_id(TOOL, "line watcher")
    sys.monitoring.register_callback(TOOL, events.LINE, lines.__setitem__)
    sys.monitoring.set_local_events(TOOL, main.__code__, events.LINE)
    a = 1
    b = a
    c = b
    a = c
    sys.monitoring.set_local_events(TOOL, main.__code__, 0)
    sys.monitoring.free_tool_id(TOOL)
    print(sorted(lines.values()))


main()
