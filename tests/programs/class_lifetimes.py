"""Classes the program drops are freed as they are without recording: the
recorder's type caches must not keep a class alive."""
import gc
import weakref


class Base:
    pass


collected = []


def make(i):
    class Point(Base):          # instances with fields show as a Struct
        def __init__(self):
            self.x = i

    class Numbers(list):        # a subclass of a builtin, named by its class
        pass

    class Empty(Base):          # an instance without fields
        pass

    point, numbers, empty = Point(), Numbers([i]), Empty()
    for cls in (Point, Numbers, Empty):
        weakref.finalize(cls, collected.append, f"{cls.__name__} {i}")
    return point.x + len(numbers)


total = 0
for i in range(3):
    total += make(i)
gc.collect()
print("total", total)
print("subclasses left", len(Base.__subclasses__()))
print("collected", sorted(collected))
