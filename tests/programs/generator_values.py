import asyncio


def accumulate():
    total = 0
    while True:
        value = yield total
        if value is None:
            return total
        total += value


async def fetch(n):
    await asyncio.sleep(0)
    return n * 2


async def gather():
    first = await fetch(1)
    second = await fetch(2)
    return first + second


acc = accumulate()
next(acc)
acc.send(5)
acc.send(7)
try:
    acc.send(None)
except StopIteration as stop:
    final = stop.value
print(final, asyncio.run(gather()))
