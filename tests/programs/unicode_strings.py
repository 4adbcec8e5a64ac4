greeting = "héllo wörld ✓ 日本語 🎉"
escaped = "tab\tquote\"backslash\\newline\n"
surrogate = "bad\udc80byte"
raw_bytes = b"\xff\x00ab"
decoded = raw_bytes.decode("utf-8", errors="surrogateescape")
print(greeting)
print(len(surrogate), ascii(decoded))
