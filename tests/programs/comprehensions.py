numbers = [1, 2, 3, 4]
squares = [n * n for n in numbers]
evens = {n for n in numbers if n % 2 == 0}
names = {n: str(n) for n in numbers}
total = sum(n for n in numbers)
print(squares, sorted(evens), names, total)
