"""Lists, dicts and tuples of scalars changed in place between steps: the
recorder encodes such a container once and copies the record while it is
unchanged, so every change must still show at the next step."""


def main():
    xs = [1.0, 2.0, 3.0]
    counts = {"a": 1}
    pair = (1, 2)
    words = ["x"] * 3
    for i in range(6):
        xs[i % 3] = xs[i % 3] + 0.5
        counts["a"] += 1
        if i % 2:
            counts["k%d" % i] = i
            del counts["k%d" % i]
            counts["k%d" % i] = -i
        else:
            xs.append(float(i))
            xs.pop()
        words[i % 3] = words[i % 3] + "y"
        words.reverse()
        pair = pair[:1] + (i,)
    counts.clear()
    counts["z"] = None
    return xs, counts, pair, words


print(main())
