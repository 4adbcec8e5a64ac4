class AppError(Exception):
    def __str__(self):
        return "user __str__ must not run"


def inner(n):
    if n < 0:
        raise AppError("negative", n)
    return n


def middle(n):
    return inner(n) * 2


def outer():
    try:
        middle(-1)
    except AppError as exc:
        kept = exc.args
    try:
        try:
            middle(-2)
        finally:
            cleanup = True
    except AppError:
        pass
    try:
        try:
            {}["missing"]
        except KeyError:
            raise
    except KeyError:
        pass
    return kept, cleanup


print(outer())
