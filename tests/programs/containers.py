def nest(depth):
    result = []
    for _ in range(depth):
        result = [result]
    return result


nested = {"list": [1, [2, [3]]], "tuple": (1, (2, 3))}
looped = [1, 2]
looped.append(looped)
mapping = {"name": "self"}
mapping["me"] = mapping
shared = [1]
twice = [shared, shared]
long_list = list(range(1000))
deep = nest(200)
print(len(long_list), len(looped), sorted(mapping))
