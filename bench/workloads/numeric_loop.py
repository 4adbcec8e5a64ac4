"""A numeric loop: line heavy, few calls."""


def integrate(steps):
    total = 0.0
    dx = 1.0 / steps
    for i in range(steps):
        x = (i + 0.5) * dx
        total += 4.0 / (1.0 + x * x)
    return total * dx


def collatz_lengths(limit):
    longest = 0
    for start in range(1, limit):
        n, length = start, 1
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            length += 1
        longest = max(longest, length)
    return longest


print(round(integrate(150000), 6), collatz_lengths(6000))
