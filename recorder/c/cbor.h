/* CBOR (RFC 8949) items appended to a buffer, for the CTFS trace format.
 *
 * Only what CodeTracer's records need: unsigned and negative integers, text
 * strings, booleans, and the heads of definite-length arrays and maps.
 * Lengths always use the shortest form. */

#ifndef CTRECORD_CBOR_H
#define CTRECORD_CBOR_H

#include "json_buffer.h"

enum {
    CBOR_UNSIGNED = 0,
    CBOR_NEGATIVE = 1,
    CBOR_TEXT = 3,
    CBOR_ARRAY = 4,
    CBOR_MAP = 5,
};

static inline void
cbor_head(JsonBuffer *b, int major, uint64_t n)
{
    unsigned char h[9];
    size_t len;
    h[0] = (unsigned char)(major << 5);
    if (n < 24) {
        h[0] |= (unsigned char)n;
        len = 1;
    }
    else if (n <= 0xff) {
        h[0] |= 24;
        h[1] = (unsigned char)n;
        len = 2;
    }
    else if (n <= 0xffff) {
        h[0] |= 25;
        h[1] = (unsigned char)(n >> 8);
        h[2] = (unsigned char)n;
        len = 3;
    }
    else if (n <= 0xffffffffu) {
        h[0] |= 26;
        for (int i = 0; i < 4; i++) {
            h[1 + i] = (unsigned char)(n >> (24 - 8 * i));
        }
        len = 5;
    }
    else {
        h[0] |= 27;
        for (int i = 0; i < 8; i++) {
            h[1 + i] = (unsigned char)(n >> (56 - 8 * i));
        }
        len = 9;
    }
    jb_put(b, (const char *)h, len);
}

static inline void
cbor_int(JsonBuffer *b, long long v)
{
    if (v >= 0) {
        cbor_head(b, CBOR_UNSIGNED, (uint64_t)v);
    }
    else {
        cbor_head(b, CBOR_NEGATIVE, (uint64_t)(-1 - v));
    }
}

static inline void
cbor_text(JsonBuffer *b, const char *s, size_t n)
{
    cbor_head(b, CBOR_TEXT, n);
    jb_put(b, s, n);
}

/* A str, cut after max_chars code points (see jb_unicode_body). */
static inline void
cbor_unicode(JsonBuffer *b, PyObject *str, Py_ssize_t max_chars)
{
    if (PyUnicode_IS_ASCII(str) && PyUnicode_GET_LENGTH(str) <= max_chars) {
        cbor_text(b, (const char *)PyUnicode_DATA(str), (size_t)PyUnicode_GET_LENGTH(str));
        return;
    }
    JsonBuffer text = {.plain = 1};
    jb_unicode_body(&text, str, max_chars);
    cbor_text(b, text.data, text.len);
    b->failed |= text.failed;
    jb_free(&text);
}

static inline void
cbor_bool(JsonBuffer *b, int value)
{
    jb_putc(b, value ? (char)0xf5 : (char)0xf4);
}

#endif
