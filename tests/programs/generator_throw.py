def inner():
    try:
        yield 1
        yield 2
    except ValueError as e:
        yield "caught " + str(e)


def outer():
    result = yield from inner()
    return result


g = outer()
print(next(g))
print(g.throw(ValueError("boom")))
g.close()
print("closed")
