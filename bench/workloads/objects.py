"""Object-heavy code: small classes, attribute access, methods."""


class Vector:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def add(self, other):
        return Vector(self.x + other.x, self.y + other.y)

    def scale(self, k):
        return Vector(self.x * k, self.y * k)


class Particle:
    def __init__(self, position, velocity):
        self.position = position
        self.velocity = velocity

    def step(self, dt):
        self.position = self.position.add(self.velocity.scale(dt))


def simulate(count, steps):
    particles = [Particle(Vector(i, 0), Vector(1, i % 3)) for i in range(count)]
    for _ in range(steps):
        for particle in particles:
            particle.step(0.1)
    return sum(p.position.x + p.position.y for p in particles)


print(round(simulate(40, 1500), 3))
