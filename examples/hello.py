"""A small program to record with python-ct and explore in CodeTracer."""


class Greeter:
    def __init__(self, greeting):
        self.greeting = greeting
        self.count = 0

    def greet(self, name):
        self.count += 1
        return f"{self.greeting}, {name}!"


def squares(n):
    return [i * i for i in range(n)]


greeter = Greeter("Hello")
for name in ["Ada", "Grace", "Linus"]:
    message = greeter.greet(name)
    print(message)

total = sum(squares(5))
print("sum of squares:", total, "greetings:", greeter.count)
