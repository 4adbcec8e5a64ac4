"""Waits to be terminated, as argv[1] says: asleep (the GIL released),
busy in a loop (the GIL held), asleep while another thread loops, asleep
after a fork, or asleep with a SIGTERM handler of its own that exits with
status 3."""
import os
import signal
import sys
import threading
import time


def wait(how):
    total = 0
    for i in range(5):
        total += i
    handlers = [signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)]
    print("ready", total, *[getattr(h, "__name__", h) for h in handlers], flush=True)
    if how == "busy":
        while True:
            total += 1
    time.sleep(60)


def spin():
    count = 0
    while True:
        count += 1
        time.sleep(0.001)


def on_sigterm(signum, frame):
    print("handled", signum, flush=True)
    sys.exit(3)


how = sys.argv[1]
if how == "thread":
    threading.Thread(target=spin, daemon=True).start()
elif how == "fork":
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
elif how == "handled":
    signal.signal(signal.SIGTERM, on_sigterm)
wait(how)
