import pip


def version_parts():
    return pip.__version__.split(".")


parts = version_parts()
print(len(parts) > 1)
