import sys

arguments = sys.argv[1:]
print(arguments)
