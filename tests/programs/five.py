def add(a, b):
    return a + b
x = 3  # noqa: E305 (the reference's five-line example)
y = add(x, 2.5)
print(y)
