"""Values cut by the nesting limit or holding cycles, changed in place
between steps: the recorder copies the kept record of such a value while
every container met in it is unchanged, so every change must still show
at the next step, and so must a change to what the limit cuts."""


class Node:
    def __init__(self, name, child=None):
        self.name = name
        self.child = child
        self.peer = None


class Knot:
    def __init__(self, name):
        self.name = name
        self.child = None
        self.peer = None


class Chain(list):
    pass


def named():
    pass


def main():
    deep = Node(0)
    for depth in range(1, 9):
        deep = Node(depth, deep)
    ring = Node("a")
    ring.child = Node("b", ring)
    ring.peer = [ring.child, {"k": ring}]
    chain = Chain([deep.child, [1, [2, [3, [4, [5, [6]]]]]]])
    short = Chain([Knot("k")])
    for i in range(10):
        deep.child.child.name = i
        ring.child.name = "b%d" % i
        ring.peer[1]["k%d" % (i % 2)] = i
        short[0].name = i % 3
        if i % 4 == 1:
            short.append(i)
        fifth = deep.child.child.child.child.child
        if i == 2:
            fifth.child = 5
        if i == 3:
            fifth.child = Node(99)
        if i == 4:
            chain[1][1][1][1][1][1] = [7]
        if i == 5:
            ring.peer.append(named)
        if i == 6:
            named.__qualname__ = "renamed"
        if i == 7:
            Node.__qualname__ = "Vertex"
        if i == 8:
            deep.child.child.__class__ = Knot
        if i == 9:
            chain.append(ring)
    return len(chain), len(ring.peer), len(short)


print(main())
