import threading

results = []


def work(n):
    total = 0
    for i in range(n):
        total += i
    results.append(total)


worker = threading.Thread(target=work, args=(100,))
worker.start()
worker.join()
work(10)
print(results)
