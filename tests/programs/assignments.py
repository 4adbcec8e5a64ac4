import os.path as osp
from math import floor as fl

counter = 0


class Point:
    dims = 2

    def __init__(self, x, y):
        self.x = x
        self.y = y


def bump():
    global counter
    counter += 1


def outer():
    total = 0

    def add(n):
        nonlocal total
        total = total + n
    add(5)
    return total


def main():
    a = 1
    a += 2
    b, c = a, 4
    first, *rest = [1, 2, 3]
    if (n := len(rest)) > 1:
        pass
    for i in range(2):
        pass
    with open(osp.devnull) as f:
        pass
    try:
        raise KeyError("k")
    except KeyError as err:
        caught = err.args[0]
    squares = [j * j for j in range(3)]
    p = Point(1, 2)
    p.x = 10
    Point.dims = 3
    d = {}
    d["k"] = 5
    d[n] = "two"
    lst = [0, 1, 2, 3, 4]
    lst[1:3] = ["x"]
    del lst[0]
    del d["k"]
    del p.y
    del a
    bump()
    return outer(), fl(2.5), b, c, first, i, f.closed, caught, squares


print(main(), counter)
