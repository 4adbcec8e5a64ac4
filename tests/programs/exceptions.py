def risky(x):
    if x < 0:
        raise ValueError("negative")
    return x * 2


def safe(x):
    try:
        return risky(x)
    except ValueError as err:
        return str(err)
    finally:
        print("checked", x)


results = [safe(1), safe(-1)]
try:
    {}["missing"]
except KeyError:
    results.append("key")
print(results)
