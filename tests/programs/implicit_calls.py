class Temperature:
    def __init__(self, celsius):
        self._celsius = celsius

    @property
    def fahrenheit(self):
        return self._celsius * 9 / 5 + 32

    def __repr__(self):
        return f"Temperature({self._celsius})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


t = Temperature(100)
with t as same:
    f = same.fahrenheit
print(f, repr(t), [str(t)])
squares = list(map(lambda n: n * n, range(3)))
print(squares)
