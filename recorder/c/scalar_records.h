/* The ValueRecords of the scalars that most values in a trace are, in JSON
 * or CBOR, written inline where a step lists its variables: ints, None and
 * bools, and floats and strs whose record the writer has cached.  Also the
 * literal pieces value_encoder.c builds every record from.
 *
 * A piece is a pair of literals, the JSON text and the CBOR bytes, naming
 * the same fields; a CBOR record starts with its map's field count
 * (0xa0 + n). */

#ifndef CTRECORD_SCALAR_RECORDS_H
#define CTRECORD_SCALAR_RECORDS_H

#include "trace_writer.h"
#include "cbor.h"

#include "pycore_long.h"          // _PyLong_IsCompact()

/* One of the pair. */
#define JSON_OF(...) JSON_OF_(__VA_ARGS__)
#define JSON_OF_(json_text, cbor_bytes) json_text
#define CBOR_OF(...) CBOR_OF_(__VA_ARGS__)
#define CBOR_OF_(json_text, cbor_bytes) cbor_bytes

#define HEAD_INT      "{\"kind\":\"Int\",\"i\":", "\xa3\x64kind\x63Int\x61i"
#define HEAD_BIG_INT  "{\"kind\":\"BigInt\",\"b\":", "\xa4\x64kind\x66" "BigInt\x61" "b"
/* Bool also carries its text: CodeTracer's Nim reader (ct-print) reads
   the fields in order and expects it; serde readers skip it. */
#define HEAD_BOOL     "{\"kind\":\"Bool\",\"b\":", "\xa4\x64kind\x64" "Bool\x61" "b"
#define FIELD_TRUE_TEXT ",\"text\":\"true\"", "\x64text\x64true"
#define FIELD_FALSE_TEXT ",\"text\":\"false\"", "\x64text\x65" "false"
#define HEAD_RAW      "{\"kind\":\"Raw\",\"r\":", "\xa3\x64kind\x63Raw\x61r"
#define HEAD_STRING   "{\"kind\":\"String\",\"text\":", "\xa3\x64kind\x66String\x64text"
#define HEAD_SEQUENCE "{\"kind\":\"Sequence\",\"elements\":", \
                      "\xa4\x64kind\x68Sequence\x68" "elements"
#define HEAD_TUPLE    "{\"kind\":\"Tuple\",\"elements\":", "\xa3\x64kind\x65Tuple\x68" "elements"
#define HEAD_STRUCT   "{\"kind\":\"Struct\",\"field_values\":", \
                      "\xa3\x64kind\x66Struct\x6c" "field_values"
/* The field Sequence has beside `elements`. */
#define FIELD_NOT_SLICE ",\"is_slice\":false", "\x68is_slice\xf4"
#define RECORD_NONE "{\"kind\":\"None\",\"type_id\":0}", "\xa2\x64kind\x64None\x67type_id\x00"

/* Strings shorter than this are escaped again rather than cached. */
#define STR_CACHE_MIN_LENGTH 16

/* A record's last field, its type id (0 if interning it failed), which
   also ends a JSON record. */
static inline void
put_type_id_field(JsonBuffer *b, int cbor, Py_ssize_t type_id)
{
    type_id = type_id < 0 ? 0 : type_id;
    if (cbor) {
        CBOR_KEY_AND_UINT(b, "\x67type_id", (uint64_t)type_id);
    }
    else {
        JB_LITERAL(b, ",\"type_id\":");
        jb_int(b, type_id);
        jb_putc(b, '}');
    }
}

/* The same in CBOR, at `at` in room already reserved (CBOR_TYPE_ID_ROOM
   bytes), for records written with one room check; return its end. */
#define CBOR_TYPE_ID_ROOM (8 + 9)
static inline char *
put_cbor_type_id_at(char *at, Py_ssize_t type_id)
{
    static const char key[] = "\x67type_id";
    memcpy(at, key, sizeof(key) - 1);
    at += sizeof(key) - 1;
    return at + cbor_head_at(at, CBOR_UNSIGNED, (uint64_t)(type_id < 0 ? 0 : type_id));
}

/* An Int record, in CBOR written with one room check: most values are. */
static inline void
put_int_record(JsonBuffer *b, int cbor, long long v, Py_ssize_t type_id)
{
    static const char head[] = CBOR_OF(HEAD_INT);
    if (!cbor) {
        JB_LITERAL(b, JSON_OF(HEAD_INT));
        jb_int(b, v);
        put_type_id_field(b, cbor, type_id);
        return;
    }
    size_t room = sizeof(head) + 9 + CBOR_TYPE_ID_ROOM;
    if (b->len + room > b->cap && jb_reserve(b, room) < 0) {
        return;
    }
    char *at = b->data + b->len;
    memcpy(at, head, sizeof(head) - 1);
    at += sizeof(head) - 1;
    at += v >= 0 ? cbor_head_at(at, CBOR_UNSIGNED, (uint64_t)v)
                 : cbor_head_at(at, CBOR_NEGATIVE, (uint64_t)(-1 - v));
    at = put_cbor_type_id_at(at, type_id);
    b->len = (size_t)(at - b->data);
}

static inline void
put_bool_record(JsonBuffer *b, int cbor, int value, Py_ssize_t type_id)
{
    if (cbor) {
        JB_LITERAL(b, CBOR_OF(HEAD_BOOL));
        cbor_bool(b, value);
        if (value) {
            JB_LITERAL(b, CBOR_OF(FIELD_TRUE_TEXT));
        }
        else {
            JB_LITERAL(b, CBOR_OF(FIELD_FALSE_TEXT));
        }
    }
    else {
        JB_LITERAL(b, JSON_OF(HEAD_BOOL));
        if (value) {
            JB_LITERAL(b, "true" JSON_OF(FIELD_TRUE_TEXT));
        }
        else {
            JB_LITERAL(b, "false" JSON_OF(FIELD_FALSE_TEXT));
        }
    }
    put_type_id_field(b, cbor, type_id);
}

/* The cache ways a float's record would be kept in, or NULL for a float
   subclass (or if memory ran out). */
static inline FloatRecordEntry *
float_record_ways(TraceWriter *w, PyObject *obj, uint64_t bits, int cbor)
{
    if (!Py_IS_TYPE(obj, &PyFloat_Type)) {
        return NULL;
    }
    if (w->floats == NULL) {
        w->floats = PyMem_RawCalloc(FLOAT_RECORD_CACHE_SIZE + 1, sizeof(FloatRecordEntry));
        if (w->floats == NULL) {
            return NULL;
        }
    }
    size_t set = (size_t)((bits * 0x9E3779B97F4A7C15ULL) >> 52) + (size_t)cbor;
    return &w->floats[(set * FLOAT_RECORD_CACHE_WAYS) % FLOAT_RECORD_CACHE_SIZE];
}

/* Copy the record of the float `bits` if `ways` keep it; return whether
   they did. */
static inline int
put_cached_float(JsonBuffer *b, FloatRecordEntry *ways, uint64_t bits, int cbor)
{
    for (int i = 0; i < FLOAT_RECORD_CACHE_WAYS; i++) {
        FloatRecordEntry *entry = &ways[i];
        if (entry->len != 0 && entry->bits == bits && entry->cbor == cbor) {
            /* The copy may read past the record, into the next entry (or
               the cache's padding), never past the cache. */
            jb_put_small(b, entry->record, entry->len);
            if (i > 0) {
                /* The most recently used way comes first. */
                FloatRecordEntry hit = *entry;
                memmove(&ways[1], &ways[0], (size_t)i * sizeof(FloatRecordEntry));
                ways[0] = hit;
            }
            return 1;
        }
    }
    return 0;
}

/* Whether `obj` is a str whose CBOR record is written straight from its
   characters: an exact, ASCII str shorter than the ones the cache keeps. */
static inline int
is_short_ascii_str(PyObject *obj)
{
    return PyUnicode_CheckExact(obj) && PyUnicode_IS_ASCII(obj) &&
           PyUnicode_GET_LENGTH(obj) < STR_CACHE_MIN_LENGTH;
}

/* Its String record, in CBOR, with one room check. */
static inline void
put_short_ascii_cbor_record(JsonBuffer *b, PyObject *str, Py_ssize_t type_id)
{
    static const char head[] = CBOR_OF(HEAD_STRING);
    size_t n = (size_t)PyUnicode_GET_LENGTH(str);
    size_t room = sizeof(head) + 1 + STR_CACHE_MIN_LENGTH + CBOR_TYPE_ID_ROOM;
    if (b->len + room > b->cap && jb_reserve(b, room) < 0) {
        return;
    }
    char *at = b->data + b->len;
    memcpy(at, head, sizeof(head) - 1);
    at += sizeof(head) - 1;
    at += cbor_head_at(at, CBOR_TEXT, n);
    memcpy(at, PyUnicode_DATA(str), n);
    at += n;
    at = put_cbor_type_id_at(at, type_id);
    b->len = (size_t)(at - b->data);
}

/* Where the record of the str `obj` is kept, or NULL for strs that are
   not kept. */
static inline StrCacheEntry *
str_cache_entry(TraceWriter *w, PyObject *obj, int cbor)
{
    if (!PyUnicode_CheckExact(obj) || PyUnicode_GET_LENGTH(obj) < STR_CACHE_MIN_LENGTH ||
        cbor != w->cbor)
    {
        return NULL;
    }
    return &w->strs[((uintptr_t)obj >> 4) % STR_CACHE_SIZE];
}

/* The values most steps are made of, whole records of their own, written
   without setting up the general encoder: ints, None and bools whose type
   is interned, and floats and strs whose record is cached.  Return 0,
   writing nothing, for any other value. */
static inline int
put_common_scalar(TraceWriter *w, JsonBuffer *b, PyObject *obj, int cbor)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp == &PyLong_Type) {
        Py_ssize_t type_id = w->builtin_type_ids[BUILTIN_INT];
        if (type_id < 0 || !_PyLong_IsCompact((PyLongObject *)obj)) {
            return 0;
        }
        put_int_record(b, cbor, _PyLong_CompactValue((PyLongObject *)obj), type_id);
        return 1;
    }
    if (tp == &PyFloat_Type) {
        double value = PyFloat_AS_DOUBLE(obj);
        uint64_t bits;
        memcpy(&bits, &value, sizeof(bits));
        FloatRecordEntry *ways = float_record_ways(w, obj, bits, cbor);
        return ways != NULL && put_cached_float(b, ways, bits, cbor);
    }
    if (tp == &PyUnicode_Type) {
        if (cbor && w->builtin_type_ids[BUILTIN_STR] >= 0 && is_short_ascii_str(obj)) {
            put_short_ascii_cbor_record(b, obj, w->builtin_type_ids[BUILTIN_STR]);
            return 1;
        }
        StrCacheEntry *cached = str_cache_entry(w, obj, cbor);
        if (cached == NULL || cached->str != obj) {
            return 0;
        }
        jb_put(b, cached->record.data, cached->record.len);
        return 1;
    }
    if (obj == Py_None) {
        if (cbor) {
            JB_LITERAL(b, CBOR_OF(RECORD_NONE));
        }
        else {
            JB_LITERAL(b, JSON_OF(RECORD_NONE));
        }
        return 1;
    }
    if (tp == &PyBool_Type && w->builtin_type_ids[BUILTIN_BOOL] >= 0) {
        put_bool_record(b, cbor, obj == Py_True, w->builtin_type_ids[BUILTIN_BOOL]);
        return 1;
    }
    return 0;
}

#endif
