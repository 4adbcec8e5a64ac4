"""Objects whose Python-level hooks betray any call made by the recorder.

The program itself never triggers them: it only builds the objects and
stores them in variables. Every hook appends to `calls` and prints a
marker, so a recorder that runs user code changes the output.
"""

calls = []


def betray(name):
    calls.append(name)
    print("HOSTILE CALLED", name)


class Hostile:
    def __init__(self, secret):
        self.secret = secret

    def __repr__(self):
        betray("__repr__")
        return "hostile"

    def __str__(self):
        betray("__str__")
        return "hostile"

    def __getattribute__(self, name):
        betray("__getattribute__ " + name)
        return object.__getattribute__(self, name)

    def __getattr__(self, name):
        betray("__getattr__ " + name)
        raise AttributeError(name)

    def __eq__(self, other):
        betray("__eq__")
        return False

    def __hash__(self):
        betray("__hash__")
        return 1

    def __len__(self):
        betray("__len__")
        return 0

    def __iter__(self):
        betray("__iter__")
        return iter(())

    def __bool__(self):
        betray("__bool__")
        return True

    @property
    def value(self):
        betray("property value")
        return 1


class HostileSlots:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1

    def __getattribute__(self, name):
        betray("slots __getattribute__ " + name)
        return object.__getattribute__(self, name)

    def __repr__(self):
        betray("slots __repr__")
        return "slots"


class HostileMeta(type):
    def __repr__(cls):
        betray("metaclass __repr__")
        return "meta"

    def __getattribute__(cls, name):
        betray("metaclass __getattribute__ " + name)
        return type.__getattribute__(cls, name)


class Sneaky(metaclass=HostileMeta):
    pass


class SneakyList(list):
    def __iter__(self):
        betray("list __iter__")
        return iter(())

    def __len__(self):
        betray("list __len__")
        return 0

    def __getitem__(self, index):
        betray("list __getitem__")
        return None

    def __repr__(self):
        betray("list __repr__")
        return "[]"


class SneakyDict(dict):
    def __iter__(self):
        betray("dict __iter__")
        return iter(())

    def keys(self):
        betray("dict keys")
        return []

    def items(self):
        betray("dict items")
        return []

    def __getitem__(self, key):
        betray("dict __getitem__")
        return None


class SneakyStr(str):
    def __str__(self):
        betray("str __str__")
        return "s"

    def __repr__(self):
        betray("str __repr__")
        return "s"


class SneakyInt(int):
    def __index__(self):
        betray("int __index__")
        return 0

    def __int__(self):
        betray("int __int__")
        return 0

    def __repr__(self):
        betray("int __repr__")
        return "0"


hostile = Hostile(42)
slots = HostileSlots()
sneaky_class = Sneaky
sneaky_list = SneakyList([1, 2, 3])
sneaky_dict = SneakyDict(one=1)
sneaky_str = SneakyStr("text")
sneaky_int = SneakyInt(7)
crowd = [hostile, hostile, (hostile,), {"key": hostile}]
print("calls:", len(calls))
