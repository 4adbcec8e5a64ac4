log = []


class Watched:
    def __setattr__(self, name, value):
        log.append(("setattr", name))
        object.__setattr__(self, name, value * 2)

    def __setitem__(self, key, value):
        log.append(("setitem", key))


class Celsius:
    def __init__(self):
        self._c = 0

    @property
    def c(self):
        log.append("get")
        return self._c

    @c.setter
    def c(self, value):
        log.append("set")
        self._c = value


class Slotted:
    __slots__ = ("a",)


class Positive:
    def __set_name__(self, owner, name):
        self.name = "_" + name

    def __set__(self, obj, value):
        obj.__dict__[self.name] = abs(value)


class Account:
    balance = Positive()


def guarded():
    state = "start"
    try:
        state = "trying"
        raise ValueError("bad")
    except ValueError:
        state = "handled"
    finally:
        done = True
    return state, done


def numbers():
    total = 0
    for k in range(3):
        total += k
        got = yield total
        last = got


w = Watched()
w.x = 21
w["key"] = "v"
t = Celsius()
t.c = 37
s = Slotted()
s.a = 1
acct = Account()
acct.balance = -5
gen = numbers()
next(gen)
gen.send("hello")
print(guarded(), w.x, t.c, s.a, acct._balance, log)
