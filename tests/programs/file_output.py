import os
import tempfile

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "notes.txt")
    with open(path, "w") as notes:
        notes.write("not for stdout\n")
    with open(path) as notes:
        text = notes.read()
print("read", len(text))
