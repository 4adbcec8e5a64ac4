import json
import textwrap


def shout(word):
    return word.upper()


words = sorted(["b", "a", "c"], key=shout)
text = json.dumps({"k": [1, 2]}, sort_keys=True)
short = textwrap.shorten("hello big wide world", width=12)
print(words, text, short)
