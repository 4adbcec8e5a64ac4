def area(width, height=2):
    return width * height


def describe(name, *items, sep=", ", **options):
    text = name + ": " + sep.join(items)
    if options:
        text += " " + str(sorted(options))
    return text


def total(*numbers):
    result = 0
    for number in numbers:
        result += number
    return result


small = area(3)
large = area(4, height=5)
label = describe("fruit", "apple", "pear", sep="/", loud=True)
summed = total(1, 2, 3)
print(small, large, label, summed)
