"""Floats of every kind, one per step: the recorder writes most of them
with its own shortest-repr code and the others with CPython's; either way
each must show as repr() shows it."""

import math
import random
import struct


def samples():
    yield from [0.1, 0.2, 0.3, 1 / 3, 2.5, 1e-4, math.nextafter(1e-4, 0), 2.0 ** 53,
                math.nextafter(2.0 ** 53, 0), 2.0 ** 50 + 0.25, 2.0 ** 50 + 0.75, -0.0,
                math.inf, -math.inf, math.nan, 5e-324, 1e300, 1e-5, 5e-5, -1.5e-7,
                1 / 3 * 1e-9, 1e-14, math.nextafter(1e-14, 0), math.nextafter(1e-14, 1)]
    rng = random.Random(13)
    for _ in range(1500):
        yield rng.random() * 10.0 ** rng.randint(-16, 18)
        yield round(rng.random() * 1000, rng.randint(0, 6))
        yield struct.unpack("<d", struct.pack("<Q", (rng.randint(975, 1076) << 52)
                                              | rng.getrandbits(52)))[0]
        yield -2.0 ** rng.randint(-15, 54) * (1 + rng.randint(-1, 1) * 2.0 ** -52)


def main():
    for value in samples():
        print(repr(value))


main()
