"""Dies of a fatal signal, as argv[1] says: a segmentation fault in ctypes
with the GIL held (string_at) or released (strlen), abort(), or a
segmentation fault on another thread.  Without an argument, it lives."""
import ctypes
import os
import signal
import sys
import threading


def crash(how):
    total = 0
    for i in range(5):
        total += i
    print("before the crash", total, flush=True)
    if how == "string_at":
        ctypes.string_at(0)
    elif how == "strlen":
        ctypes.CDLL(None).strlen(ctypes.c_void_p(0))
    elif how == "abort":
        os.abort()


print("handlers", signal.getsignal(signal.SIGSEGV), signal.getsignal(signal.SIGABRT))
how = sys.argv[1] if len(sys.argv) > 1 else "none"
if how == "thread":
    worker = threading.Thread(target=crash, args=("string_at",))
    worker.start()
    worker.join()
else:
    crash(how)
