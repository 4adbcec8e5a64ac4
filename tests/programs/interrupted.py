import sys
import time

total = 0
for i in range(10000):
    total += i
# "ready" and the sleep share a line: Ctrl-C, sent once "ready" is read,
# lands on that line's step whether it comes during print() or the sleep.
print("ready", flush=True); time.sleep(60 if "--wait" in sys.argv else 0)
