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

/* Write the head of an item at `h` (room for 9 bytes); return its size. */
static inline size_t
cbor_head_at(char *h, int major, uint64_t n)
{
    unsigned char initial = (unsigned char)(major << 5);
    if (n < 24) {
        h[0] = (char)(initial | (unsigned char)n);
        return 1;
    }
    int bytes = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffu ? 4 : 8;
    h[0] = (char)(initial | (unsigned char)(bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27));
    for (int i = 0; i < bytes; i++) {
        h[1 + i] = (char)(n >> (8 * (bytes - 1 - i)));
    }
    return 1 + (size_t)bytes;
}

/* Written into reserved room, the length updated once: this runs for
   every value. */
static inline void
cbor_head(JsonBuffer *b, int major, uint64_t n)
{
    if (b->len + 9 > b->cap && jb_reserve(b, 9) < 0) {
        return;
    }
    b->len += cbor_head_at(b->data + b->len, major, n);
}

/* The text `key` (a literal) then the unsigned `n`, in one go. */
#define CBOR_KEY_AND_UINT(b, key, n)                                        \
    do {                                                                    \
        if ((b)->len + sizeof(key) + 9 <= (b)->cap ||                        \
            jb_reserve((b), sizeof(key) + 9) == 0)                          \
        {                                                                   \
            char *at_ = (b)->data + (b)->len;                               \
            memcpy(at_, key, sizeof(key) - 1);                              \
            at_ += sizeof(key) - 1;                                         \
            at_ += cbor_head_at(at_, CBOR_UNSIGNED, (n));                   \
            (b)->len = (size_t)(at_ - (b)->data);                           \
        }                                                                   \
    } while (0)

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
