"""Lists, tuples and dicts of which a few elements change between steps:
the recorder copies the records of the elements that did not change from
the container's previous record, so each change must show where it is,
and everything around it as it was.  Also instances whose fields are in
a __dict__: one of its own, which the recorder finds unchanged by its
version alone, and one made from the instance's inline attributes, whose
version a change to them leaves as it was."""


class Record:
    def __init__(self, own_table):
        self.name = "r"
        self.items = [1]
        if own_table:
            self.__dict__ = dict(vars(self))
        else:
            vars(self)


def main():
    table = {"a": 1, "b": [1], "c": "text", 4: (4,)}
    rows = [10, [1, 2], "s", [3], 2.5]
    shared = [0]
    grid = ([0, 0], [0, 0], shared, shared)
    log = []
    record = Record(True)
    view = Record(False)
    pair = [[1], [2], 0]
    pair[2] = 1                             # both lists copied
    nest = [[[[[pair]]]]]                   # too deep for pair's lists
    for i in range(4):
        table["a"] = i                      # a value replaced
        table["b"].append(i)                # a value changed in place
        table["k%d" % i] = i                # a pair added at the end
        table["c"] = table.pop("c")         # a pair moved to the end
        rows[1][0] = i                      # an element changed in place
        rows[3] = [i]                       # an element replaced
        rows.insert(0, i)                   # everything shifted
        rows.pop(0)
        rows.append("r%d" % i)              # an element added
        grid[i % 2][i % 2] = i              # in a tuple that stays the same
        shared.append(i)                    # one list in two places
        log.append(str(i) * i)
        for r in record, view:
            r.items.append(i)               # a field changed in place
            if i % 2:
                r.name = "r%d" % i          # a field replaced
            else:
                r.__dict__["extra"] = i     # a field added through the dict
    del table[4]                            # a pair deleted
    rows[:2] = rows[1::-1]                  # two elements swapped
    rows[2] = rows[2]                       # the same element put back
    return table, rows, grid, log, nest, vars(record), vars(view)


print(main())
