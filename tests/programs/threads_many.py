import threading


def work(name, n):
    total = 0
    for i in range(n):
        total += i
    results[name] = total


results = {}
workers = [threading.Thread(target=work, args=(f"w{k}", 10 * (k + 1)))
           for k in range(3)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(sorted(results.items()))
