import os

total = 0
for i in range(10000):
    total += i
pid = os.fork()
if pid == 0:
    print("child", sum(range(10)))
    os._exit(0)
os.waitpid(pid, 0)
print("parent", total)
