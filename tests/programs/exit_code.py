import sys


def main():
    print("exiting")
    sys.exit(3)


main()
print("never")
