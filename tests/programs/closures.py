def make_counter(start):
    count = start

    def increment(step=1):
        nonlocal count
        count += step
        return count

    return increment


counter = make_counter(10)
first = counter()
second = counter(5)
print(first, second)
