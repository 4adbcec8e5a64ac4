def countdown(n):
    while n > 0:
        yield n
        n -= 1
    return "done"


def pairs(items):
    for index, item in enumerate(items):
        received = yield index, item
        if received:
            print("got", received)


values = list(countdown(3))
gen = pairs(["a", "b"])
first = next(gen)
second = gen.send("hello")
rest = list(gen)
print(values, first, second, rest)
