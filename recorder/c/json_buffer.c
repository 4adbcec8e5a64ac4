/* Growable byte buffer with JSON encoding helpers. */

#include "json_buffer.h"

void
jb_int_digits(JsonBuffer *b, long long v)
{
    unsigned long long magnitude = v < 0 ? 0ULL - (unsigned long long)v
                                         : (unsigned long long)v;
    char *p = b->data + b->len;
    if (v < 0) {
        *p++ = '-';
    }
    int count = decimal_digit_count(magnitude);
    write_decimal_digits(p, magnitude, count);
    b->len = (size_t)(p + count - b->data);
}

void
jb_free(JsonBuffer *b)
{
    PyMem_RawFree(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int
jb_reserve(JsonBuffer *b, size_t extra)
{
    if (b->failed) {
        return -1;
    }
    size_t needed = b->len + extra;
    if (needed <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < needed) {
        cap *= 2;
    }
    char *data = PyMem_RawRealloc(b->data, cap);
    if (data == NULL) {
        b->failed = 1;
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static const char HEX[] = "0123456789abcdef";

/* Whether an ASCII character is written escaped in a JSON string body. */
static inline int
needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c == 0x7f;
}

/* Escape one ASCII character for a JSON string body. */
static inline void
put_ascii_escaped(JsonBuffer *b, unsigned char c)
{
    switch (c) {
    case '"': JB_LITERAL(b, "\\\""); return;
    case '\\': JB_LITERAL(b, "\\\\"); return;
    case '\n': JB_LITERAL(b, "\\n"); return;
    case '\r': JB_LITERAL(b, "\\r"); return;
    case '\t': JB_LITERAL(b, "\\t"); return;
    default:
        if (needs_escape(c)) {
            char esc[6] = {'\\', 'u', '0', '0', HEX[c >> 4], HEX[c & 15]};
            jb_put(b, esc, 6);
        }
        else {
            jb_putc(b, (char)c);
        }
    }
}

void
jb_utf8_body(JsonBuffer *b, const char *s, size_t n)
{
    if (b->plain) {
        jb_put(b, s, n);
        return;
    }
    /* Runs that need no escape are copied whole. */
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (needs_escape(c)) {
            jb_put(b, s + run, i - run);
            put_ascii_escaped(b, c);
            run = i + 1;
        }
    }
    jb_put(b, s + run, n - run);
}

void
jb_utf8_string(JsonBuffer *b, const char *s, size_t n)
{
    jb_putc(b, '"');
    jb_utf8_body(b, s, n);
    jb_putc(b, '"');
}

static void
put_code_point(JsonBuffer *b, Py_UCS4 ch)
{
    char u[4];
    if (ch < 0x80) {
        if (b->plain) {
            jb_putc(b, (char)ch);
        }
        else {
            put_ascii_escaped(b, (unsigned char)ch);
        }
    }
    else if (ch < 0x800) {
        u[0] = (char)(0xc0 | (ch >> 6));
        u[1] = (char)(0x80 | (ch & 0x3f));
        jb_put(b, u, 2);
    }
    else if (ch >= 0xd800 && ch <= 0xdfff) {
        /* A lone surrogate: show it as Python would in a repr. */
        char esc[7] = {'\\', '\\', 'u', HEX[(ch >> 12) & 15], HEX[(ch >> 8) & 15],
                       HEX[(ch >> 4) & 15], HEX[ch & 15]};
        jb_put(b, esc + b->plain, 7 - b->plain);
    }
    else if (ch < 0x10000) {
        u[0] = (char)(0xe0 | (ch >> 12));
        u[1] = (char)(0x80 | ((ch >> 6) & 0x3f));
        u[2] = (char)(0x80 | (ch & 0x3f));
        jb_put(b, u, 3);
    }
    else {
        u[0] = (char)(0xf0 | (ch >> 18));
        u[1] = (char)(0x80 | ((ch >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((ch >> 6) & 0x3f));
        u[3] = (char)(0x80 | (ch & 0x3f));
        jb_put(b, u, 4);
    }
}

void
jb_unicode_body(JsonBuffer *b, PyObject *str, Py_ssize_t max_chars)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(str);
    Py_ssize_t shown = len > max_chars ? max_chars : len;
    if (PyUnicode_IS_ASCII(str)) {
        jb_utf8_body(b, (const char *)PyUnicode_DATA(str), (size_t)shown);
    }
    else {
        int kind = PyUnicode_KIND(str);
        const void *data = PyUnicode_DATA(str);
        for (Py_ssize_t i = 0; i < shown; i++) {
            put_code_point(b, PyUnicode_READ(kind, data, i));
        }
    }
    if (shown < len) {
        char tail[64];
        int n = snprintf(tail, sizeof(tail), "\xe2\x80\xa6 (%zd more characters)",
                         len - shown);
        jb_put(b, tail, (size_t)n);
    }
}

void
jb_unicode_string(JsonBuffer *b, PyObject *str, Py_ssize_t max_chars)
{
    jb_putc(b, '"');
    jb_unicode_body(b, str, max_chars);
    jb_putc(b, '"');
}
