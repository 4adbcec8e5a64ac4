/* Growable byte buffer with JSON encoding helpers.
 *
 * Every writer of the recorder builds its output in one of these.  A failed
 * allocation sets `failed` and turns later writes into no-ops, so callers
 * check once, at flush time, instead of after every append. */

#ifndef CTRECORD_JSON_BUFFER_H
#define CTRECORD_JSON_BUFFER_H

#include "Python.h"

#include "decimal_digits.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
    int plain;      /* the *_body functions append text unescaped (plain
                       UTF-8, e.g. to become a CBOR text string) */
} JsonBuffer;

void jb_free(JsonBuffer *b);
int jb_reserve(JsonBuffer *b, size_t extra);

static inline void
jb_put(JsonBuffer *b, const char *s, size_t n)
{
    if (b->len + n > b->cap && jb_reserve(b, n) < 0) {
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define JB_LITERAL(b, s) jb_put((b), (s), sizeof(s) - 1)

static inline void
jb_putc(JsonBuffer *b, char c)
{
    if (b->len + 1 > b->cap && jb_reserve(b, 1) < 0) {
        return;
    }
    b->data[b->len++] = c;
}

/* jb_put() of at most 64 bytes from a source of at least 64: a copy of
   constant size is a few moves, where a variable one is a slow call. */
static inline void
jb_put_small(JsonBuffer *b, const char *s, size_t n)
{
    if (b->len + 64 > b->cap && jb_reserve(b, 64) < 0) {
        return;
    }
    memcpy(b->data + b->len, s, 64);
    b->len += n;
}

/* jb_int() of a number other than 0 to 99, with room for 20 bytes. */
void jb_int_digits(JsonBuffer *b, long long v);

/* Written by hand, straight into the buffer: snprintf() was the recorder's
   top cost.  Most numbers written (type ids, small ints, sites) have one or
   two digits. */
static inline void
jb_int(JsonBuffer *b, long long v)
{
    if (b->len + 20 > b->cap && jb_reserve(b, 20) < 0) {
        return;
    }
    if ((unsigned long long)v < 10) {
        b->data[b->len++] = (char)('0' + v);
        return;
    }
    if ((unsigned long long)v < 100) {
        memcpy(b->data + b->len, decimal_pair((unsigned)v), 2);
        b->len += 2;
        return;
    }
    jb_int_digits(b, v);
}

/* A JSON string literal (with quotes) from UTF-8 bytes. */
void jb_utf8_string(JsonBuffer *b, const char *s, size_t n);

/* A JSON string literal from a str object, cut after max_chars code points
 * (marking the cut).  Lone surrogates cannot be encoded in valid UTF-8, so
 * they are written as the visible text \udXXX. */
void jb_unicode_string(JsonBuffer *b, PyObject *str, Py_ssize_t max_chars);

/* The characters of a JSON string body (no quotes) from UTF-8 bytes, or
 * the bytes as they are if the buffer is plain. */
void jb_utf8_body(JsonBuffer *b, const char *s, size_t n);

/* The characters of a JSON string body from a str object. */
void jb_unicode_body(JsonBuffer *b, PyObject *str, Py_ssize_t max_chars);

#endif
