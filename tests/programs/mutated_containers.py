"""Lists, dicts and tuples of scalars changed in place between steps: the
recorder encodes such a container once and copies the record while it is
unchanged, so every change must still show at the next step.  Floats come
and go by the thousand: their records are cached by value, in far fewer
entries."""


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
    total = 0.0
    for k in range(3000):
        total += k / 7 + xs[k % 3]
        wave = float(k % 5) / 3
    return xs, counts, pair, words, round(total, 3), wave


print(main())
