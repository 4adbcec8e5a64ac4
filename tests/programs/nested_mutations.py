"""Containers of containers and instances changed in place, deep inside,
between steps: the recorder copies the kept record of a container whose
children (and their children) are unchanged, so every change at any depth
must still show at the next step."""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a


class Bag:
    pass


class Twins:
    pass


def main():
    points = [Point(i, -i) for i in range(3)]
    grid = {"row": [Point(0, 0), [1, 2]], "cell": Slotted([Point(5, 5)])}
    pair = (points, grid["row"])
    bag = Bag()
    bag.items = [Slotted(1), {"deep": [Point(7, 7)]}]
    twins = Twins()
    twins.left = twins.right = "same"
    for i in range(8):
        points[i % 3].x += 1
        grid["row"][1].append(i)
        grid["cell"].a[0].y = i
        if i % 2:
            grid["cell"].b = (i, points[0])
        else:
            try:
                del grid["cell"].b
            except AttributeError:
                pass
        bag.items[1]["deep"][0].x = float(i)
        bag.items[0].a = bag.items[0].a + 1
        del points[0]
        points.insert(0, Point(100 + i, i))
        if i == 4:
            del bag.items[1]["deep"][0].y
            Point.__qualname__ = "Renamed"
        if i == 6:
            points[1].__class__ = Bag
        if i == 3:
            # The same fields and values, in another order, on one line.
            del twins.left; twins.left = "same"  # noqa: E702
    return len(points), len(grid["row"][1]), bag.items[0].a


print(main())
