small = 2 ** 62
limit = 2 ** 63 - 1
too_big = 2 ** 63
lowest = -(2 ** 63)
below = -(2 ** 63) - 1
huge = 3 ** 100
print(small, limit, too_big, lowest, below, huge % 1000)
