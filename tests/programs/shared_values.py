"""Containers that several variables, elements and arguments show, at
different depths, next to a cycle: each is encoded once per step and then
copied, which must show exactly what encoding it again would."""


class Node:
    def __init__(self, value, children):
        self.value = value
        self.children = children


leaf = [1, 2, 3]
pair = Node(7, [leaf, leaf])
tree = Node(0, [pair, Node(1, [pair, leaf]), [[[[pair]]]]])
ring = [leaf]
ring.append(ring)
outer = [4]
inner = [5, outer]
outer.append(inner)
everything = [tree, pair, leaf, ring, [[[[[[leaf]]]]]], [ring, tree]]


def look(first, second, nested):
    both = [first, second, [nested]]
    return len(both)


print(look(tree, pair, everything))
