import sys

print("hi")
print("to stderr", file=sys.stderr)
sys.stdout.write("part one, ")
sys.stdout.write("part two\n")
for i in range(2):
    print("loop", i)
print("unicode ✓")
