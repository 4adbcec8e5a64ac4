def dive(depth):
    return dive(depth + 1)


try:
    dive(0)
except RecursionError:
    print("caught RecursionError")
