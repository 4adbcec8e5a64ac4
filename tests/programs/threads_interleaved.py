import sys
import threading

sys.setswitchinterval(1e-6)


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


threads = [threading.Thread(target=work, args=(5000,)) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("done")
