class Shape:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"{self.name} of area {self.area()}"


class Rect(Shape):
    def __init__(self, width, height):
        super().__init__("rect")
        self.width = width
        self.height = height

    def area(self):
        return self.width * self.height


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


rect = Rect(2, 3)
point = Point(1, 2)
text = rect.describe()
print(text, point.x + point.y)
