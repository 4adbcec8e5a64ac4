def alpha(n):
    return n


def compute(*args):
    return args


def cleared():
    x = None
    del x
    y = 1
    return y


def shadow():
    x = 5
    r = [x for x in range(2)]
    return x, r


def displays(a, b):
    items = [1, 2, *a]
    merged = {"x": 1, **b}
    packed = (1, *a)
    return items, merged, packed


def thrower():
    try:
        yield 1
    except KeyError:
        yield 2


result = compute(
    alpha(1),
    alpha(2),
)
gen = thrower()
next(gen)
gen.throw(KeyError("t"))
print(result, cleared(), shadow(), displays([3], {"y": 2}))
