import os
import sys

try:
    name = input("name? ")
except EOFError:
    name = "nobody"
rest = sys.stdin.read()
os.write(1, b"raw out\n")
os.write(2, "raw err \xe9\n".encode())
print(f"hello {name}, {len(rest.splitlines())} more lines")
