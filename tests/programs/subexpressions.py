class Box:
    def __init__(self, items):
        self.items = items

    def size(self):
        return len(self.items)


def never():
    raise AssertionError("short-circuited")


def main(x, y):
    box = Box([3, 1, 2])
    total = x + y * 2
    flag = -x < y and not box.items[0] > 5
    skipped = x > 100 and never()
    label = f"{total:>4}|{box.size()!r}"
    pick = box.items[1] if flag else never()
    other = never() if not flag else box.items[2]
    evens = [n * 10 for n in box.items if n % 2 == 0]
    doubled = {k: v for k, v in [("a", 1)]}
    for n in box.items:
        total = total - n
    return total, flag, skipped, label, pick, other, evens, doubled


print(main(4, 5))
