nothing = None
yes = True
no = False
ratio = 2.5
third = 1 / 3
infinity = float("inf")
minus_infinity = -infinity
not_a_number = float("nan")
data = b"ab"
pair = (1, "two")
items = [1, 2]
table = {"a": 1, "b": [2, 3]}
unique = {7}
frozen = frozenset({8})
print("done")
