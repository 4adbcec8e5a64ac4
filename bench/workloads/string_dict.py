"""String and dict processing: word counting and formatting."""

TEXT = """It is a truth universally acknowledged, that a single man in possession
of a good fortune, must be in want of a wife. However little known the
feelings or views of such a man may be on his first entering a neighbourhood,
this truth is so well fixed in the minds of the surrounding families, that he
is considered the rightful property of some one or other of their daughters."""


def count_words(text):
    counts = {}
    for word in text.lower().split():
        word = word.strip(".,;")
        counts[word] = counts.get(word, 0) + 1
    return counts


def report(counts):
    lines = []
    for word, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"{word:>15} {n}")
    return "\n".join(lines)


def main():
    size = 0
    for _ in range(1500):
        size += len(report(count_words(TEXT)))
    print(size)


main()
