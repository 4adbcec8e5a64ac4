"""Lines that look as if they could change nothing (loads and stores of
locals, a loop's next item, int arithmetic) but do: dropping a reference
runs a finalizer, a map() iterator calls a function, the end of a loop
frees its list.  Each of them changes a list main() shows, and no code of
this program runs while it does (weakref.finalize and map call
list.append from the standard library and from C)."""

import weakref


class Resource:
    pass


def resources(log, count):
    items = [Resource() for _ in range(count)]
    for i, item in enumerate(items):
        weakref.finalize(item, log.append, i)
    return items


def main():
    log = []
    seen = []
    n = 0
    holder = Resource()
    weakref.finalize(holder, log.append, "holder")
    holder = n                  # its last reference: log gets "holder"
    n = n + 1
    for x in map(seen.append, range(3)):
        n = n + 1               # seen got one more item
    for item in resources(log, 2):
        n = n + 1
    n = n + 1                   # the loop's end freed resource 0
    item = n                    # the last reference to resource 1
    n = n * 2
    print(log, seen, n)


main()
