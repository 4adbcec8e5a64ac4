FACTOR = 2


def double(x):
    return x * FACTOR
