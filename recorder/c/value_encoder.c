/* Encoding of Python objects as CodeTracer ValueRecords, in JSON or CBOR. */

#include "value_encoder.h"

#include "float_repr.h"

#include "pycore_dict.h"          // DK_UNICODE_ENTRIES()
#include "pycore_long.h"          // _PyLong_IsNegative()
#include "pycore_object.h"        // _PyObject_GetManagedDict()
#include "pycore_setobject.h"     // _PySet_NextEntry()
#include "structmember.h"         // PyMemberDef

#include <errno.h>

typedef struct {
    TraceWriter *w;
    JsonBuffer *b;
    int cbor;                               /* else JSON */
    int depth;
    PyObject *open[VALUE_MAX_DEPTH + 1];   /* containers being encoded */
    Py_ssize_t used;                        /* values encoded so far */
    Py_ssize_t limit;                       /* `used` the current value
                                               and its elements may reach */
    Py_ssize_t cuts;                        /* cut and cycle markers put */
    Py_ssize_t need;                        /* of the value just encoded: a
                                               size limit it is whole under */
    int deepest;                            /* depth of the deepest container
                                               encoded (since reset) */
    int logging;                            /* the writer's cut_log is being
                                               made, for the value encoded */
    const SlotLayoutEntry *slots;           /* the last slot layout looked up
                                               (no class changes within an
                                               encoding), or NULL */
} Encoder;

static Py_ssize_t node_limit = VALUE_DEFAULT_NODES;

void
value_encoder_set_node_limit(Py_ssize_t nodes)
{
    node_limit = nodes;
}

/* How a container's part of the size limit goes to its elements: one value
   to each leaf, and to each other element an even share (rounded up) of
   what the leaves leave; an element that uses less than its share leaves
   the rest to the ones after it. */
typedef struct {
    Py_ssize_t end;             /* the container's limit */
    Py_ssize_t leaves;          /* elements not encoded yet, of each kind */
    Py_ssize_t others;
    Py_ssize_t leaves_taken;    /* elements encoded, of each kind */
    Py_ssize_t others_taken;
    Py_ssize_t widest;          /* the largest need of the others */
} Shares;

/* Objects of types without garbage collection support hold no other
   objects (numbers, strings, None, bools, bytes): one value each. */
static inline int
is_leaf(PyObject *obj)
{
    return !PyType_IS_GC(Py_TYPE(obj));
}

/* Count element `obj`, before any element is encoded. */
static inline void
shares_count(Shares *s, PyObject *obj)
{
    if (is_leaf(obj)) {
        s->leaves++;
    }
    else {
        s->others++;
    }
}

/* Set the limit of element `obj`, about to be encoded. */
static inline void
shares_give(Encoder *e, Shares *s, PyObject *obj)
{
    if (is_leaf(obj)) {
        /* It takes one value, if any is left. */
        e->limit = s->end;
        s->leaves--;
        return;
    }
    Py_ssize_t room = s->end - e->used - s->leaves;
    e->limit = e->used + (room <= 0 ? 0 : (room + s->others - 1) / s->others);
    s->others--;
}

/* Element `obj` was encoded. */
static inline void
shares_took(Encoder *e, Shares *s, PyObject *obj)
{
    if (is_leaf(obj)) {
        s->leaves_taken++;
    }
    else {
        s->others_taken++;
        if (e->need > s->widest) {
            s->widest = e->need;
        }
    }
}

/* A limit under which the container and all its elements are whole: with
   room for the widest other element in each other's share, every share
   covers its element. */
static inline Py_ssize_t
shares_need(const Shares *s)
{
    return 1 + s->leaves_taken + s->others_taken * s->widest;
}

static void encode(Encoder *e, PyObject *obj);

/* A record's start, up to its first field's value: the JSON text, or the
   CBOR map head with its keys.  Both literals name the same fields; the
   CBOR one starts with the map's field count (0xa0 + n). */
#define PUT_HEAD(e, ...) PUT_HEAD_(e, __VA_ARGS__)
#define PUT_HEAD_(e, json_text, cbor_bytes)                         \
    ((e)->cbor ? JB_LITERAL((e)->b, cbor_bytes) : JB_LITERAL((e)->b, json_text))

/* A record's last field. */
static void
put_type_id(Encoder *e, Py_ssize_t type_id)
{
    put_type_id_field(e->b, e->cbor, type_id);
}

static void
put_bool(Encoder *e, int v)
{
    if (e->cbor) {
        cbor_bool(e->b, v);
    }
    else if (v) {
        JB_LITERAL(e->b, "true");
    }
    else {
        JB_LITERAL(e->b, "false");
    }
}

static void
put_text(Encoder *e, const char *utf8, size_t len)
{
    if (e->cbor) {
        cbor_text(e->b, utf8, len);
    }
    else {
        jb_utf8_string(e->b, utf8, len);
    }
}

/* A text with nothing to escape in JSON (ASCII letters, digits and
   signs), copied as it is. */
static void
put_plain_text(Encoder *e, const char *text, size_t len)
{
    if (e->cbor) {
        cbor_text(e->b, text, len);
    }
    else {
        jb_putc(e->b, '"');
        jb_put(e->b, text, len);
        jb_putc(e->b, '"');
    }
}

/* A str's text, cut after max_chars code points. */
static void
put_unicode_text(Encoder *e, PyObject *str, Py_ssize_t max_chars)
{
    if (e->cbor) {
        cbor_unicode(e->b, str, max_chars);
    }
    else {
        jb_unicode_string(e->b, str, max_chars);
    }
}

/* A text assembled from pieces: they are appended, unescaped, to the
   buffer text_start() returns, and put_pieced_text() writes the whole. */
static JsonBuffer *
text_start(Encoder *e)
{
    e->w->text.len = 0;
    e->w->text.plain = 1;
    return &e->w->text;
}

static void
put_pieced_text(Encoder *e)
{
    put_text(e, e->w->text.data, e->w->text.len);
    e->b->failed |= e->w->text.failed;
    e->w->text.failed = 0;
}

static void
put_array_head(Encoder *e, Py_ssize_t n)
{
    if (e->cbor) {
        cbor_head(e->b, CBOR_ARRAY, (uint64_t)n);
    }
    else {
        jb_putc(e->b, '[');
    }
}

/* Before array element i. */
static void
put_separator(Encoder *e, Py_ssize_t i)
{
    if (i && !e->cbor) {
        jb_putc(e->b, ',');
    }
}

static void
put_array_end(Encoder *e)
{
    if (!e->cbor) {
        jb_putc(e->b, ']');
    }
}

static void
put_raw_utf8(Encoder *e, const char *text, size_t len, Py_ssize_t type_id)
{
    PUT_HEAD(e, HEAD_RAW);
    put_text(e, text, len);
    put_type_id(e, type_id);
}

static void
put_marker(Encoder *e, const char *text)
{
    put_raw_utf8(e, text, strlen(text), tw_builtin_type_id(e->w, BUILTIN_MARKER));
}

/* The marker of a cut, written, and kept for the next ones. */
static void
put_new_ellipsis(Encoder *e, CutMarkerRecord *kept, Py_ssize_t type_id)
{
    size_t start = e->b->len;
    PUT_HEAD(e, HEAD_RAW);
    PUT_HEAD(e, "\"\xe2\x80\xa6\"", "\x63\xe2\x80\xa6");
    put_type_id(e, type_id);
    size_t len = e->b->len - start;
    if (!e->b->failed && len <= sizeof(kept->record)) {
        memcpy(kept->record, e->b->data + start, len);
        kept->len = (uint8_t)len;
        kept->type_id = type_id;
    }
}

/* The marker of a cut, which a large value has many of: copied. */
static inline void
put_ellipsis(Encoder *e)
{
    e->cuts++;
    Py_ssize_t type_id = tw_builtin_type_id(e->w, BUILTIN_MARKER);
    CutMarkerRecord *kept = &e->w->cut_markers[e->cbor];
    if (kept->len > 0 && kept->type_id == type_id) {
        jb_put_small(e->b, kept->record, kept->len);
    }
    else {
        put_new_ellipsis(e, kept, type_id);
    }
}

static void
put_more_marker(Encoder *e, Py_ssize_t more)
{
    char text[64];
    snprintf(text, sizeof(text), "\xe2\x80\xa6 %zd more", more);
    put_marker(e, text);
}

/* "module.QualName" for heap types, tp_name for static ones. */
static void
put_type_name_body(JsonBuffer *b, PyTypeObject *tp)
{
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyObject *qualname = ((PyHeapTypeObject *)tp)->ht_qualname;
        PyObject *module = PyDict_GetItemWithError(tp->tp_dict, &_Py_ID(__module__));
        if (module != NULL && PyUnicode_Check(module)) {
            jb_unicode_body(b, module, PY_SSIZE_T_MAX);
            jb_putc(b, '.');
        }
        PyErr_Clear();
        jb_unicode_body(b, qualname, PY_SSIZE_T_MAX);
    }
    else {
        jb_utf8_body(b, tp->tp_name, strlen(tp->tp_name));
    }
}

/* The type id of class `tp`, by its name, as a type of `kind`. */
static Py_ssize_t
class_type_id(Encoder *e, PyTypeObject *tp, int kind)
{
    /* Naming and interning the type costs more than encoding most values. */
    NamedTypeEntry *set = &e->w->named_types[set_of_two(tp, (uintptr_t)kind,
                                                       NAMED_TYPE_SET_BITS)];
    for (int way = 0; way < 2; way++) {
        if (set[way].kind == kind && class_key_is(&set[way].cls, tp)) {
            return set[way].id;
        }
    }
    set_of_two_rotate(set, sizeof(NamedTypeEntry));
    NamedTypeEntry *cached = &set[0];
    JsonBuffer name = {.plain = 1};
    put_type_name_body(&name, tp);
    Py_ssize_t id = name.failed ? -1 : tw_type_id(e->w, kind, name.data, name.len, NULL, 0, 0);
    jb_free(&name);
    if (id >= 0 && class_key_set(&cached->cls, tp) == 0) {
        cached->kind = kind;
        cached->id = id;
    }
    return id;
}

/* The type id for a builtin kind of value, or for the subclass `tp` of it
   (inline: most values are of the builtin type itself). */
static inline Py_ssize_t
type_id_for(Encoder *e, PyTypeObject *tp, PyTypeObject *builtin_tp,
            BuiltinType builtin, int kind)
{
    return tp == builtin_tp ? tw_builtin_type_id(e->w, builtin)
                            : class_type_id(e, tp, kind);
}

static void
encode_int(Encoder *e, PyObject *obj)
{
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyLong_Type,
                                     BUILTIN_INT, TYPE_KIND_INT);
    if (_PyLong_IsCompact((PyLongObject *)obj)) {
        put_int_record(e->b, e->cbor, _PyLong_CompactValue((PyLongObject *)obj), type_id);
        return;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (!overflow) {
        put_int_record(e->b, e->cbor, v, type_id);
        return;
    }
    /* BigInt: base64 of the big-endian magnitude, and the sign apart. */
    static const char B64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int negative = _PyLong_IsNegative((PyLongObject *)obj);
    size_t nbytes = (_PyLong_NumBits(obj) + 7) / 8;
    if (nbytes > VALUE_MAX_STRING) {
        char text[80];
        snprintf(text, sizeof(text), "<int of %zu bytes, not shown>", nbytes);
        put_raw_utf8(e, text, strlen(text), type_id);
        return;
    }
    unsigned char *bytes = PyMem_Malloc(nbytes);
    /* int's own negation, not a subclass's __neg__. */
    PyObject *magnitude = negative ? PyLong_Type.tp_as_number->nb_negative(obj)
                                   : Py_NewRef(obj);
    if (bytes == NULL || magnitude == NULL ||
        _PyLong_AsByteArray((PyLongObject *)magnitude, bytes, nbytes, 0, 0, 1) < 0)
    {
        PyErr_Clear();
        PyMem_Free(bytes);
        Py_XDECREF(magnitude);
        put_marker(e, "<int not readable>");
        return;
    }
    Py_DECREF(magnitude);
    JsonBuffer *text = text_start(e);
    for (size_t i = 0; i < nbytes; i += 3) {
        unsigned int chunk = (unsigned int)bytes[i] << 16;
        if (i + 1 < nbytes) chunk |= (unsigned int)bytes[i + 1] << 8;
        if (i + 2 < nbytes) chunk |= bytes[i + 2];
        char quad[4] = {B64[(chunk >> 18) & 63], B64[(chunk >> 12) & 63],
                        i + 1 < nbytes ? B64[(chunk >> 6) & 63] : '=',
                        i + 2 < nbytes ? B64[chunk & 63] : '='};
        jb_put(text, quad, 4);
    }
    PyMem_Free(bytes);
    PUT_HEAD(e, HEAD_BIG_INT);
    put_pieced_text(e);
    if (e->cbor) {
        JB_LITERAL(e->b, "\x68negative");
    }
    else {
        JB_LITERAL(e->b, ",\"negative\":");
    }
    put_bool(e, negative);
    put_type_id(e, type_id);
}

static void
encode_float(Encoder *e, PyObject *obj)
{
    /* CodeTracer releases disagree on how a Float record is written, so a
       float is a Raw text with a float-kinded type (see the format doc). */
    double value = PyFloat_AS_DOUBLE(obj);
    uint64_t bits;
    memcpy(&bits, &value, sizeof(bits));
    FloatRecordEntry *cached = NULL;
    FloatRecordEntry *ways = float_record_ways(e->w, obj, bits, e->cbor);
    if (ways != NULL) {
        if (put_cached_float(e->b, ways, bits, e->cbor)) {
            return;
        }
        /* The least recently used way makes room. */
        memmove(&ways[1], &ways[0], (FLOAT_RECORD_CACHE_WAYS - 1) * sizeof(FloatRecordEntry));
        cached = &ways[0];
        cached->len = 0;
    }
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyFloat_Type,
                                     BUILTIN_FLOAT, TYPE_KIND_FLOAT);
    size_t start = e->b->len;
    char fast_text[FLOAT_REPR_SIZE];
    int fast_len = float_repr(value, fast_text);
    char *text = fast_len > 0 ? fast_text
                 : PyOS_double_to_string(value, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) {
        PyErr_Clear();
        put_marker(e, "<float not readable>");
        return;
    }
    /* Digits, '.', 'e', signs, "inf" or "nan". */
    PUT_HEAD(e, HEAD_RAW);
    put_plain_text(e, text, fast_len > 0 ? (size_t)fast_len : strlen(text));
    put_type_id(e, type_id);
    if (text != fast_text) {
        PyMem_Free(text);
    }
    size_t len = e->b->len - start;
    if (cached != NULL && !e->b->failed && len <= sizeof(cached->record)) {
        memcpy(cached->record, e->b->data + start, len);
        cached->len = (uint8_t)len;
        cached->bits = bits;
        cached->cbor = (uint8_t)e->cbor;
    }
}

/* Copy the record written to e->b since `start` into a cache's `kept`;
   return 0, or -1 (with `kept` emptied, ready for the next try) if memory
   ran out. */
static int
keep_record(Encoder *e, size_t start, JsonBuffer *kept)
{
    kept->len = 0;
    jb_put(kept, e->b->data + start, e->b->len - start);
    if (kept->failed) {
        kept->failed = 0;
        return -1;
    }
    return 0;
}

static void
encode_str(Encoder *e, PyObject *obj)
{
    /* A string a variable keeps from step to step is escaped once. */
    StrCacheEntry *cached = str_cache_entry(e->w, obj, e->cbor);
    if (cached != NULL && cached->str == obj) {
        jb_put(e->b, cached->record.data, cached->record.len);
        return;
    }
    size_t start = e->b->len;
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyUnicode_Type,
                                     BUILTIN_STR, TYPE_KIND_STRING);
    if (e->cbor && is_short_ascii_str(obj)) {
        put_short_ascii_cbor_record(e->b, obj, type_id);
        return;
    }
    PUT_HEAD(e, HEAD_STRING);
    put_unicode_text(e, obj, VALUE_MAX_STRING);
    put_type_id(e, type_id);
    if (cached != NULL && !e->b->failed) {
        if (keep_record(e, start, &cached->record) == 0) {
            Py_XSETREF(cached->str, Py_NewRef(obj));
        }
        else {
            Py_CLEAR(cached->str);
        }
    }
}

static void
encode_bytes(Encoder *e, PyObject *obj)
{
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyBytes_Type,
                                     BUILTIN_BYTES, TYPE_KIND_RAW);
    Py_ssize_t len = PyBytes_GET_SIZE(obj);
    Py_ssize_t shown = len > VALUE_MAX_STRING ? VALUE_MAX_STRING : len;
    PyObject *prefix = PyBytes_FromStringAndSize(PyBytes_AS_STRING(obj), shown);
    PyObject *repr = prefix ? PyBytes_Type.tp_repr(prefix) : NULL;
    Py_XDECREF(prefix);
    if (repr == NULL) {
        PyErr_Clear();
        put_marker(e, "<bytes not readable>");
        return;
    }
    JsonBuffer *text = text_start(e);
    jb_unicode_body(text, repr, PY_SSIZE_T_MAX);
    Py_DECREF(repr);
    if (shown < len) {
        char tail[64];
        int n = snprintf(tail, sizeof(tail), "\xe2\x80\xa6 %zd more bytes", len - shown);
        jb_put(text, tail, (size_t)n);
    }
    PUT_HEAD(e, HEAD_RAW);
    put_pieced_text(e);
    put_type_id(e, type_id);
}

/* A list, tuple or dict being encoded: where the record of each of its
   elements (a dict's pairs) goes in its record, and its old record, found
   stale (or NULL), from which the elements that did not change are copied,
   in runs as long as they lay one after the other there. */
typedef struct {
    size_t start;                           /* of its record, in e->b */
    const ContainerCacheEntry *old;         /* in the trace's output */
    size_t run_at, run_len;                 /* in the old record; the run
                                               goes where e->b ends */
    uint32_t at[VALUE_MAX_ITEMS];           /* from `start` */
    uint32_t len[VALUE_MAX_ITEMS];
} Splice;

static inline int kept_child_is_current(Encoder *e, const CachedChild *child);

/* Where the record `entry` keeps is now. */
static inline const char *
kept_record(const TraceWriter *w, const ContainerCacheEntry *entry)
{
    return entry->in_output ? w->stream.out.data + entry->record_at : entry->record.data;
}

/* Count the record `entry` keeps, whose container is counted already, if
   the limits here would not cut it. */
static inline int
count_kept_record(Encoder *e, const ContainerCacheEntry *entry)
{
    if (e->depth + entry->height >= VALUE_MAX_DEPTH || e->limit - e->used + 1 < entry->need) {
        return 0;
    }
    e->used += entry->nodes - 1;
    e->need = entry->need;
    if (e->depth + entry->height > e->deepest) {
        e->deepest = e->depth + entry->height;
    }
    return 1;
}

/* Count child `obj` as encode() and put_cached_record() would, if it is
   the one `kept` keeps, with a record that is current and that the limits
   here would not cut. */
static inline int
take_unchanged_child(Encoder *e, const CachedChild *kept, PyObject *obj)
{
    if (kept->obj != obj) {
        return 0;
    }
    if (kept->stamp == 0) {
        /* A scalar: one value. */
        if (e->used >= e->limit) {
            return 0;
        }
        e->used++;
        e->need = 1;
        return 1;
    }
    e->used++;
    if (kept_child_is_current(e, kept) && count_kept_record(e, kept->entry)) {
        return 1;
    }
    e->used--;
    return 0;
}

/* Copy the run of elements taken so far. */
static void
put_run(Encoder *e, Splice *splice)
{
    size_t n = splice->run_len;
    if (n == 0) {
        return;
    }
    splice->run_len = 0;
    /* Room first: the old record may be in e->b itself. */
    if (e->b->len + n > e->b->cap && jb_reserve(e->b, n) < 0) {
        return;
    }
    /* Looked up now: the output may have been handed over since (a type
       met first while encoding into another buffer goes to it at once). */
    memcpy(e->b->data + e->b->len, kept_record(e->w, splice->old) + splice->run_at, n);
    e->b->len += n;
}

/* Element `i`, whose children were taken unchanged: added to the run, or
   a new run started (the one before copied).  In JSON, a run holds the
   commas between its elements. */
static inline void
take_element(Encoder *e, Splice *splice, Py_ssize_t i, const CachedChild *kept)
{
    size_t gap = i > 0 && !e->cbor;
    if (splice->run_len == 0 || splice->run_at + splice->run_len + gap != kept->at) {
        put_run(e, splice);
        put_separator(e, i);
        splice->run_at = kept->at;
        splice->run_len = 0;
    }
    splice->at[i] = (uint32_t)(e->b->len - splice->start + (kept->at - splice->run_at));
    splice->len[i] = kept->len;
    splice->run_len = kept->at + kept->len - splice->run_at;
}

/* Before element `i` is encoded: the run copied, the separator put. */
static size_t
element_start(Encoder *e, Splice *splice, Py_ssize_t i)
{
    put_run(e, splice);
    put_separator(e, i);
    return e->b->len;
}

/* After element `i`, from `at`, is encoded. */
static void
element_end(Encoder *e, Splice *splice, Py_ssize_t i, size_t at)
{
    /* Records too long for uint32_t are not kept, so neither are these. */
    splice->at[i] = (uint32_t)(at - splice->start);
    splice->len[i] = (uint32_t)(e->b->len - at);
}

/* Elements of a list or tuple, cut at the item limit. */
static void
put_elements(Encoder *e, PyObject *const *items, Py_ssize_t n, Splice *splice)
{
    Py_ssize_t shown = n > VALUE_MAX_ITEMS ? VALUE_MAX_ITEMS : n;
    put_array_head(e, shown + (shown < n));
    Shares shares = {.end = e->limit};
    for (Py_ssize_t i = 0; i < shown; i++) {
        shares_count(&shares, items[i]);
    }
    /* With leaves only, the limit stays the container's. */
    int shared = shares.others > 0;
    const CachedChild *old = splice->old != NULL ? splice->old->children : NULL;
    Py_ssize_t nold = old != NULL ? splice->old->nchildren : 0;
    for (Py_ssize_t i = 0; i < shown; i++) {
        if (shared) {
            shares_give(e, &shares, items[i]);
        }
        if (i < nold && take_unchanged_child(e, &old[i], items[i])) {
            take_element(e, splice, i, &old[i]);
        }
        else {
            size_t at = element_start(e, splice, i);
            encode(e, items[i]);
            element_end(e, splice, i, at);
        }
        if (shared) {
            shares_took(e, &shares, items[i]);
        }
    }
    put_run(e, splice);
    e->limit = shares.end;
    e->need = shared ? shares_need(&shares) : 1 + shown;
    if (shown < n) {
        put_separator(e, shown);
        put_more_marker(e, n - shown);
    }
    put_array_end(e);
}

static void
encode_list(Encoder *e, PyObject *obj, Splice *splice)
{
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyList_Type,
                                     BUILTIN_LIST, TYPE_KIND_SEQ);
    PUT_HEAD(e, HEAD_SEQUENCE);
    put_elements(e, ((PyListObject *)obj)->ob_item, PyList_GET_SIZE(obj), splice);
    PUT_HEAD(e, FIELD_NOT_SLICE);
    put_type_id(e, type_id);
}

static void
encode_tuple(Encoder *e, PyObject *obj, Splice *splice)
{
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyTuple_Type,
                                     BUILTIN_TUPLE, TYPE_KIND_TUPLE);
    PUT_HEAD(e, HEAD_TUPLE);
    put_elements(e, ((PyTupleObject *)obj)->ob_item, PyTuple_GET_SIZE(obj), splice);
    put_type_id(e, type_id);
}

/* The first `max` key/value pairs of dict `obj`, in its order, into
   `pairs` (room for 2 * max); return how many pairs.  A combined table's
   entries are read where they are (PyDict_Next() is a call per pair). */
static Py_ssize_t
dict_pairs(PyObject *obj, PyObject **pairs, Py_ssize_t max)
{
    PyDictObject *dict = (PyDictObject *)obj;
    PyDictKeysObject *keys = dict->ma_keys;
    Py_ssize_t n = 0;
    if (dict->ma_values == NULL && keys->dk_kind != DICT_KEYS_SPLIT) {
        /* Entries of str keys have no hash: their fields are elsewhere. */
        int unicode = DK_IS_UNICODE(keys);
        const char *entry = unicode ? (const char *)DK_UNICODE_ENTRIES(keys)
                                    : (const char *)DK_ENTRIES(keys);
        size_t size = unicode ? sizeof(PyDictUnicodeEntry) : sizeof(PyDictKeyEntry);
        size_t key_at = unicode ? offsetof(PyDictUnicodeEntry, me_key)
                                : offsetof(PyDictKeyEntry, me_key);
        size_t value_at = unicode ? offsetof(PyDictUnicodeEntry, me_value)
                                  : offsetof(PyDictKeyEntry, me_value);
        const char *end = entry + keys->dk_nentries * size;
        for (; entry < end && n < max; entry += size) {
            PyObject *value = *(PyObject *const *)(entry + value_at);
            if (value != NULL) {
                pairs[2 * n] = *(PyObject *const *)(entry + key_at);
                pairs[2 * n + 1] = value;
                n++;
            }
        }
        return n;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (n < max && PyDict_Next(obj, &pos, &key, &value)) {
        pairs[2 * n] = key;
        pairs[2 * n + 1] = value;
        n++;
    }
    return n;
}

static void
encode_dict(Encoder *e, PyObject *obj, Splice *splice)
{
    Py_ssize_t type_id = type_id_for(e, Py_TYPE(obj), &PyDict_Type,
                                     BUILTIN_DICT, TYPE_KIND_SEQ);
    Py_ssize_t pair_type_id = tw_builtin_type_id(e->w, BUILTIN_TUPLE);
    Py_ssize_t size = PyDict_GET_SIZE(obj);
    Py_ssize_t shown = size > VALUE_MAX_ITEMS ? VALUE_MAX_ITEMS : size;
    PUT_HEAD(e, HEAD_SEQUENCE);
    put_array_head(e, shown + (shown < size));
    PyObject *pairs[2 * VALUE_MAX_ITEMS];
    Py_ssize_t count = dict_pairs(obj, pairs, shown);
    Shares shares = {.end = e->limit};
    for (Py_ssize_t i = 0; i < 2 * count; i++) {
        shares_count(&shares, pairs[i]);
    }
    const CachedChild *old = splice->old != NULL ? splice->old->children : NULL;
    Py_ssize_t nold = old != NULL ? splice->old->nchildren : 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = pairs[2 * i], *value = pairs[2 * i + 1];
        if (2 * i < nold && old[2 * i].obj == key && old[2 * i + 1].obj == value) {
            /* Both taken, or neither. */
            Shares before = shares;
            Py_ssize_t used = e->used;
            int deepest = e->deepest;
            shares_give(e, &shares, key);
            int taken = take_unchanged_child(e, &old[2 * i], key);
            shares_took(e, &shares, key);
            if (taken) {
                shares_give(e, &shares, value);
                taken = take_unchanged_child(e, &old[2 * i + 1], value);
                shares_took(e, &shares, value);
            }
            if (taken) {
                take_element(e, splice, i, &old[2 * i]);
                continue;
            }
            shares = before;
            e->used = used;
            e->deepest = deepest;
        }
        size_t at = element_start(e, splice, i);
        PUT_HEAD(e, HEAD_TUPLE);
        put_array_head(e, 2);
        shares_give(e, &shares, key);
        encode(e, key);
        shares_took(e, &shares, key);
        put_separator(e, 1);
        shares_give(e, &shares, value);
        encode(e, value);
        shares_took(e, &shares, value);
        put_array_end(e);
        put_type_id(e, pair_type_id);
        element_end(e, splice, i, at);
    }
    put_run(e, splice);
    e->limit = shares.end;
    e->need = shares_need(&shares);
    if (count < size) {
        put_separator(e, count);
        put_more_marker(e, size - count);
    }
    put_array_end(e);
    PUT_HEAD(e, FIELD_NOT_SLICE);
    put_type_id(e, type_id);
}

static void
encode_set(Encoder *e, PyObject *obj)
{
    Py_ssize_t type_id = PyFrozenSet_Check(obj)
        ? type_id_for(e, Py_TYPE(obj), &PyFrozenSet_Type, BUILTIN_FROZENSET, TYPE_KIND_SEQ)
        : type_id_for(e, Py_TYPE(obj), &PySet_Type, BUILTIN_SET, TYPE_KIND_SEQ);
    Py_ssize_t size = PySet_GET_SIZE(obj);
    Py_ssize_t shown = size > VALUE_MAX_ITEMS ? VALUE_MAX_ITEMS : size;
    PUT_HEAD(e, HEAD_SEQUENCE);
    put_array_head(e, shown + (shown < size));
    Shares shares = {.end = e->limit};
    Py_ssize_t pos = 0, count = 0;
    PyObject *key;
    Py_hash_t hash;
    while (count++ < shown && _PySet_NextEntry(obj, &pos, &key, &hash)) {
        shares_count(&shares, key);
    }
    pos = 0;
    count = 0;
    while (count < shown && _PySet_NextEntry(obj, &pos, &key, &hash)) {
        put_separator(e, count++);
        shares_give(e, &shares, key);
        encode(e, key);
        shares_took(e, &shares, key);
    }
    e->limit = shares.end;
    e->need = shares_need(&shares);
    if (count < size) {
        put_separator(e, count);
        put_more_marker(e, size - count);
    }
    put_array_end(e);
    PUT_HEAD(e, FIELD_NOT_SLICE);
    put_type_id(e, type_id);
}

/* Fields of an instance: slots first (in class order), then __dict__;
   each a name and a value in turn, as the record cache keeps them. */
typedef struct {
    PyObject *pairs[2 * VALUE_MAX_ITEMS];
    Py_ssize_t count;
    Py_ssize_t hidden;     /* fields past the limit */
} Fields;

#define FIELD_NAME(f, i) ((f)->pairs[2 * (i)])
#define FIELD_VALUE(f, i) ((f)->pairs[2 * (i) + 1])

static void
add_field(Fields *f, PyObject *name, PyObject *value)
{
    if (f->count < VALUE_MAX_ITEMS) {
        FIELD_NAME(f, f->count) = name;
        FIELD_VALUE(f, f->count) = value;
        f->count++;
    }
    else {
        f->hidden++;
    }
}

static int
is_dunder(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && name[0] == '_' && name[1] == '_' &&
           name[n - 1] == '_' && name[n - 2] == '_';
}

/* Fill `entry` with the slot fields of `tp`'s instances.  A name that
   cannot be made (out of memory) leaves its field out. */
static void
find_slot_fields(SlotLayoutEntry *entry, PyTypeObject *tp)
{
    slot_layout_clear(entry);
    PyObject *mro = tp->tp_mro;
    for (Py_ssize_t i = mro == NULL ? -1 : PyTuple_GET_SIZE(mro) - 1; i >= 0; i--) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (!(base->tp_flags & Py_TPFLAGS_HEAPTYPE) || base->tp_members == NULL) {
            continue;
        }
        for (PyMemberDef *m = base->tp_members; m->name != NULL; m++) {
            if (m->type != Py_T_OBJECT_EX || is_dunder(m->name)) {
                continue;
            }
            SlotField *fields = PyMem_RawRealloc(entry->fields,
                                                 (entry->count + 1) * sizeof(SlotField));
            PyObject *name = fields == NULL ? NULL : PyUnicode_InternFromString(m->name);
            if (fields != NULL) {
                entry->fields = fields;
            }
            if (name == NULL) {
                PyErr_Clear();
                continue;
            }
            entry->fields[entry->count++] = (SlotField){m->offset, name};
        }
    }
}

/* The slot fields of `tp`'s instances, valid until the next call. */
static const SlotLayoutEntry *
slot_layout(TraceWriter *w, PyTypeObject *tp)
{
    SlotLayoutEntry *set = &w->slot_layouts[set_of_two(tp, 0, SLOT_LAYOUT_SET_BITS)];
    for (int way = 0; way < 2; way++) {
        if (set[way].type == tp && set[way].version != 0 &&
            set[way].version == tp->tp_version_tag)
        {
            return &set[way];
        }
    }
    set_of_two_rotate(set, sizeof(SlotLayoutEntry));
    SlotLayoutEntry *entry = &set[0];
    find_slot_fields(entry, tp);
    /* Without a version tag left to give, the entry is filled anew at
       every lookup. */
    entry->type = tp;
    entry->version = PyUnstable_Type_AssignVersionTag(tp) ? tp->tp_version_tag : 0;
    return entry;
}

static int
has_slot_fields(TraceWriter *w, PyTypeObject *tp)
{
    return slot_layout(w, tp)->count > 0;
}

/* Slot values are read straight from the object's memory. */
static void
collect_slot_fields(Encoder *e, Fields *f, PyObject *obj)
{
    /* Instances of one class come in runs (the elements of a list). */
    PyTypeObject *tp = Py_TYPE(obj);
    if (e->slots == NULL || e->slots->type != tp) {
        e->slots = slot_layout(e->w, tp);
    }
    const SlotLayoutEntry *layout = e->slots;
    for (Py_ssize_t i = 0; i < layout->count; i++) {
        PyObject *value = *(PyObject **)((char *)obj + layout->fields[i].offset);
        if (value != NULL) {
            add_field(f, layout->fields[i].name, value);
        }
    }
}

/* The attributes of `obj` if they are stored inline, in insertion order,
   keyed by its class's shared keys (no dict object exists for them), else
   NULL. */
static inline PyDictValues *
inline_values(PyObject *obj)
{
    if (!(Py_TYPE(obj)->tp_flags & Py_TPFLAGS_INLINE_VALUES) ||
        _PyObject_GetManagedDict(obj) != NULL)
    {
        return NULL;
    }
    PyDictValues *values = _PyObject_InlineValues(obj);
    return values->valid ? values : NULL;
}

static void
collect_dict_fields(Fields *f, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject *dict = NULL;
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        dict = (PyObject *)_PyObject_GetManagedDict(obj);
        if (dict == NULL && (tp->tp_flags & Py_TPFLAGS_INLINE_VALUES)) {
            PyDictValues *values = inline_values(obj);
            if (values == NULL) {
                return;
            }
            PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
            uint8_t *order = get_insertion_order_array(values);
            for (int i = 0; i < values->size; i++) {
                int ix = order[i];
                PyObject *value = values->values[ix];
                if (value != NULL) {
                    add_field(f, DK_UNICODE_ENTRIES(keys)[ix].me_key, value);
                }
            }
            return;
        }
    }
    else if (tp->tp_dictoffset != 0) {
        PyObject **dictptr = _PyObject_ComputedDictPointer(obj);
        dict = dictptr ? *dictptr : NULL;
    }
    if (dict == NULL || !PyDict_Check(dict)) {
        return;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (PyUnicode_Check(key)) {
            add_field(f, key, value);
        }
    }
}

/* The entry of the writer's Struct type cache for this class and these
   fields: the matching one, or an emptied one to fill; NULL if they are
   too many fields to cache. */
static StructTypeEntry *
struct_type_entry(TraceWriter *w, PyTypeObject *tp, const Fields *f)
{
    if (f->count > STRUCT_TYPE_CACHE_FIELDS) {
        return NULL;
    }
    uintptr_t hash = (uintptr_t)tp ^ ((uintptr_t)f->hidden << 8) ^ (uintptr_t)f->count;
    for (Py_ssize_t i = 0; i < f->count; i++) {
        hash = hash * 31 + (uintptr_t)FIELD_NAME(f, i);
    }
    StructTypeEntry *set =
        &w->struct_types[2 * (address_hash(hash) >> (64 - STRUCT_TYPE_SET_BITS))];
    for (int way = 0; way < 2; way++) {
        StructTypeEntry *entry = &set[way];
        int same = class_key_is(&entry->cls, tp) && entry->count == f->count &&
                   entry->hidden == f->hidden;
        for (Py_ssize_t i = 0; same && i < f->count; i++) {
            same = entry->names[i] == FIELD_NAME(f, i);
        }
        if (same) {
            return entry;
        }
    }
    set_of_two_rotate(set, sizeof(StructTypeEntry));
    struct_type_clear(&set[0]);
    return &set[0];
}

static void
remember_struct_type(StructTypeEntry *entry, PyTypeObject *tp, const Fields *f,
                     Py_ssize_t id)
{
    if (class_key_set(&entry->cls, tp) < 0) {
        return;
    }
    for (Py_ssize_t i = 0; i < f->count; i++) {
        entry->names[i] = Py_NewRef(FIELD_NAME(f, i));
    }
    entry->count = f->count;
    entry->hidden = f->hidden;
    entry->id = id;
}

/* Intern the Struct type of an instance of `tp` with these fields. */
static Py_ssize_t
struct_type_id(Encoder *e, PyTypeObject *tp, const Fields *fields)
{
    PyObject *names[VALUE_MAX_ITEMS];
    for (Py_ssize_t i = 0; i < fields->count; i++) {
        names[i] = FIELD_NAME(fields, i);
    }
    JsonBuffer name = {.plain = 1};
    put_type_name_body(&name, tp);
    Py_ssize_t id = name.failed ? -1 : tw_type_id(e->w, TYPE_KIND_STRUCT, name.data, name.len,
                                                   names, fields->count, fields->hidden > 0);
    jb_free(&name);
    return id;
}

/* The Struct type of an instance of `tp` with these fields. */
static Py_ssize_t
instance_type_id(Encoder *e, PyTypeObject *tp, const Fields *f)
{
    /* Building and hashing the Type record is costly; instances of a
       class mostly have the same fields. */
    StructTypeEntry *cached = struct_type_entry(e->w, tp, f);
    if (cached != NULL && cached->cls.type != NULL) {
        return cached->id;
    }
    Py_ssize_t type_id = struct_type_id(e, tp, f);
    if (cached != NULL && type_id >= 0) {
        remember_struct_type(cached, tp, f, type_id);
    }
    return type_id;
}

/* The Struct record of an instance with these fields, of type `type_id`. */
static void
put_instance_fields(Encoder *e, Py_ssize_t type_id, const Fields *f)
{
    PUT_HEAD(e, HEAD_STRUCT);
    put_array_head(e, f->count + (f->hidden > 0));
    Shares shares = {.end = e->limit};
    for (Py_ssize_t i = 0; i < f->count; i++) {
        shares_count(&shares, FIELD_VALUE(f, i));
    }
    for (Py_ssize_t i = 0; i < f->count; i++) {
        put_separator(e, i);
        shares_give(e, &shares, FIELD_VALUE(f, i));
        encode(e, FIELD_VALUE(f, i));
        shares_took(e, &shares, FIELD_VALUE(f, i));
    }
    e->limit = shares.end;
    e->need = shares_need(&shares);
    if (f->hidden) {
        put_separator(e, f->count);
        put_more_marker(e, f->hidden);
    }
    put_array_end(e);
    put_type_id(e, type_id);
}

/* An instance's fields: slots first (in class order), then __dict__. */
static void
collect_fields(Encoder *e, Fields *f, PyObject *obj)
{
    f->count = 0;
    f->hidden = 0;
    /* Instances with inline values have no slots: their class adds
       nothing to object's size. */
    if (!(Py_TYPE(obj)->tp_flags & Py_TPFLAGS_INLINE_VALUES)) {
        collect_slot_fields(e, f, obj);
    }
    collect_dict_fields(f, obj);
}

static int
inline_layout_is(const InlineLayoutEntry *entry, PyTypeObject *tp, const uint8_t *order,
                 int count)
{
    if (!class_key_is(&entry->cls, tp) || entry->count != count) {
        return 0;
    }
    /* A few bytes: a loop is cheaper than a call to memcmp(). */
    for (int i = 0; i < count; i++) {
        if (entry->order[i] != order[i]) {
            return 0;
        }
    }
    return 1;
}

/* The Struct type of an instance whose attributes are stored inline, at
   these indexes of its class's shared keys. */
static Py_ssize_t
inline_layout_type_id(Encoder *e, PyObject *obj, const uint8_t *order, int count)
{
    PyTypeObject *tp = Py_TYPE(obj);
    InlineLayoutEntry *set = &e->w->inline_layouts[set_of_two(tp, 0, INLINE_LAYOUT_SET_BITS)];
    if (inline_layout_is(&set[0], tp, order, count)) {
        return set[0].id;
    }
    if (inline_layout_is(&set[1], tp, order, count)) {
        return set[1].id;
    }
    Fields fields;              /* not zero-filled */
    collect_fields(e, &fields, obj);
    Py_ssize_t id = instance_type_id(e, tp, &fields);
    if (id >= 0 && count <= INLINE_LAYOUT_FIELDS) {
        set_of_two_rotate(set, sizeof(InlineLayoutEntry));
        if (class_key_set(&set[0].cls, tp) == 0) {
            memcpy(set[0].order, order, (size_t)count);
            set[0].count = count;
            set[0].id = id;
        }
    }
    return id;
}

/* The record of `obj` from its fields, collected into `fields` (where the
   record cache finds them after).  A few inline attributes name the type
   by their layout (cached), without the fields' names being hashed. */
static void
encode_instance(Encoder *e, PyObject *obj, Fields *fields)
{
    collect_fields(e, fields, obj);
    PyDictValues *values = inline_values(obj);
    Py_ssize_t type_id =
        values != NULL && values->size <= INLINE_LAYOUT_FIELDS
            ? inline_layout_type_id(e, obj, get_insertion_order_array(values), values->size)
            : instance_type_id(e, Py_TYPE(obj), fields);
    put_instance_fields(e, type_id, fields);
}

/* The most common instance, written without the bookkeeping of containers
   that may hold containers: its attributes are stored inline (no __dict__
   object; such a class has no slots either) and are all immutable
   scalars.  With room for all its attributes, the limits cut nothing in
   it.  Return 0, writing nothing, for any other instance. */
static int
encode_flat_instance(Encoder *e, PyObject *obj)
{
    PyDictValues *values = inline_values(obj);
    if (values == NULL || e->limit - e->used < values->size) {
        return 0;
    }
    int count = values->size;
    const uint8_t *order = get_insertion_order_array(values);
    for (int i = 0; i < count; i++) {
        PyObject *value = values->values[order[i]];
        /* A deleted attribute leaves a hole: the general path skips it. */
        if (value == NULL || !value_is_immutable_scalar(value)) {
            return 0;
        }
    }
    Py_ssize_t type_id = inline_layout_type_id(e, obj, order, count);
    PUT_HEAD(e, HEAD_STRUCT);
    put_array_head(e, count);
    for (int i = 0; i < count; i++) {
        put_separator(e, i);
        encode(e, values->values[order[i]]);
    }
    put_array_end(e);
    put_type_id(e, type_id);
    e->need = 1 + count;
    return 1;
}

/* A Raw description "<prefix name suffix>" for functions, classes and
   modules: the text begins with "<prefix", the caller adds the name, and
   put_named_text() ends it. */
static JsonBuffer *
named_text_start(Encoder *e, const char *prefix)
{
    JsonBuffer *text = text_start(e);
    jb_putc(text, '<');
    jb_put(text, prefix, strlen(prefix));
    return text;
}

static void
put_named_text(Encoder *e, const char *suffix, BuiltinType type)
{
    JsonBuffer *text = &e->w->text;
    jb_put(text, suffix, strlen(suffix));
    jb_putc(text, '>');
    PUT_HEAD(e, HEAD_RAW);
    put_pieced_text(e);
    put_type_id(e, tw_builtin_type_id(e->w, type));
}

static void
encode_named(Encoder *e, const char *prefix, PyObject *name, const char *suffix,
             BuiltinType type)
{
    JsonBuffer *text = named_text_start(e, prefix);
    if (name != NULL && PyUnicode_Check(name)) {
        jb_unicode_body(text, name, VALUE_MAX_STRING);
    }
    else {
        jb_putc(text, '?');
    }
    put_named_text(e, suffix, type);
}

/* Named by its C name: no str is made for it. */
static void
encode_builtin_function(Encoder *e, PyCFunctionObject *func)
{
    const char *name = func->m_ml->ml_name;
    JsonBuffer *text = named_text_start(e, "built-in function ");
    jb_put(text, name, strlen(name));
    put_named_text(e, "", BUILTIN_FUNCTION);
}

static void
encode_class(Encoder *e, PyTypeObject *tp)
{
    JsonBuffer *text = text_start(e);
    JB_LITERAL(text, "<class '");
    put_type_name_body(text, tp);
    JB_LITERAL(text, "'>");
    PUT_HEAD(e, HEAD_RAW);
    put_pieced_text(e);
    put_type_id(e, tw_builtin_type_id(e->w, BUILTIN_CLASS));
}

static void
encode_exception(Encoder *e, PyObject *obj)
{
    describe_exception(text_start(e), obj);
    PUT_HEAD(e, HEAD_RAW);
    put_pieced_text(e);
    put_type_id(e, class_type_id(e, Py_TYPE(obj), TYPE_KIND_ERROR));
}

static void
encode_opaque(Encoder *e, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    OpaqueRecordEntry *set =
        &e->w->opaque_records[set_of_two(tp, (uintptr_t)e->cbor, OPAQUE_RECORD_SET_BITS)];
    for (int way = 0; way < 2; way++) {
        if (set[way].cbor == e->cbor && class_key_is(&set[way].cls, tp)) {
            jb_put(e->b, set[way].record.data, set[way].record.len);
            return;
        }
    }
    set_of_two_rotate(set, sizeof(OpaqueRecordEntry));
    OpaqueRecordEntry *cached = &set[0];
    size_t start = e->b->len;
    JsonBuffer *text = text_start(e);
    jb_putc(text, '<');
    put_type_name_body(text, tp);
    JB_LITERAL(text, " object>");
    PUT_HEAD(e, HEAD_RAW);
    put_pieced_text(e);
    put_type_id(e, class_type_id(e, tp, TYPE_KIND_RAW));
    if (!e->b->failed && keep_record(e, start, &cached->record) == 0 &&
        class_key_set(&cached->cls, tp) == 0)
    {
        cached->cbor = (uint8_t)e->cbor;
    }
    else {
        cached->cls.type = NULL;
    }
}

/* Whether instances of `tp` carry attributes the encoder can read: an
   instance dict or __slots__ (defined in Python, or alike). */
static int
has_readable_fields(TraceWriter *w, PyTypeObject *tp)
{
    return (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || tp->tp_dictoffset != 0 ||
           has_slot_fields(w, tp);
}

typedef enum {
    NOT_CONTAINER, CONTAINER_LIST, CONTAINER_TUPLE, CONTAINER_DICT, CONTAINER_SET,
    CONTAINER_INSTANCE,
} ContainerKind;

static ContainerKind
instance_kind(TraceWriter *w, PyTypeObject *tp)
{
    return (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) && has_readable_fields(w, tp)
        ? CONTAINER_INSTANCE : NOT_CONTAINER;
}

static ContainerKind
container_kind(TraceWriter *w, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (PyList_Check(obj)) {
        return CONTAINER_LIST;
    }
    if (PyTuple_Check(obj)) {
        return CONTAINER_TUPLE;
    }
    if (PyDict_Check(obj)) {
        return CONTAINER_DICT;
    }
    if (PyAnySet_Check(obj)) {
        return CONTAINER_SET;
    }
    return instance_kind(w, tp);
}

/* The two entries of the record cache that may hold `obj`'s record, or
   NULL (out of memory). */
static ContainerCacheEntry *
cache_set(TraceWriter *w, const PyObject *obj, int cbor)
{
    if (w->containers == NULL) {
        w->containers = PyMem_RawCalloc(CONTAINER_CACHE_SIZE, sizeof(ContainerCacheEntry));
        if (w->containers == NULL) {
            return NULL;
        }
    }
    return &w->containers[set_of_two(obj, (uintptr_t)cbor, CONTAINER_CACHE_SET_BITS)];
}

static int
entry_holds(const ContainerCacheEntry *entry, const PyObject *obj, int cbor)
{
    return entry->container == obj && entry->cbor == cbor;
}

/* The entry of `set` that holds a record of `obj`, or NULL. */
static ContainerCacheEntry *
entry_in_set(ContainerCacheEntry *set, const PyObject *obj, int cbor)
{
    return entry_holds(&set[0], obj, cbor) ? &set[0]
           : entry_holds(&set[1], obj, cbor) ? &set[1] : NULL;
}

/* The entry that holds a record of `obj`, or NULL. */
static ContainerCacheEntry *
cached_entry(TraceWriter *w, const PyObject *obj, int cbor)
{
    ContainerCacheEntry *set = cache_set(w, obj, cbor);
    return set == NULL ? NULL : entry_in_set(set, obj, cbor);
}

/* The entry to keep a new record of `obj` in: the one holding its old
   record, or else the one found current least recently. */
static ContainerCacheEntry *
entry_for_record(TraceWriter *w, const PyObject *obj, int cbor)
{
    ContainerCacheEntry *set = cache_set(w, obj, cbor);
    if (set == NULL) {
        return NULL;
    }
    ContainerCacheEntry *held = entry_in_set(set, obj, cbor);
    if (held != NULL) {
        return held;
    }
    if (set[0].pinned || set[1].pinned) {
        return set[0].pinned ? (set[1].pinned ? NULL : &set[1]) : &set[0];
    }
    return set[0].verified <= set[1].verified ? &set[0] : &set[1];
}

/* Whether the record of `obj` may be kept: not for sets (no version to
   check their elements by), subclasses of dict, and split dicts. */
static int
record_is_cacheable(PyObject *obj, ContainerKind kind)
{
    return kind == CONTAINER_INSTANCE || kind == CONTAINER_LIST || kind == CONTAINER_TUPLE ||
           (kind == CONTAINER_DICT && Py_IS_TYPE(obj, &PyDict_Type) &&
            ((PyDictObject *)obj)->ma_values == NULL);
}

/* The elements of a list or tuple. */
static PyObject **
sequence_items(PyObject *obj, ContainerKind kind)
{
    return kind == CONTAINER_LIST ? ((PyListObject *)obj)->ob_item
                                  : ((PyTupleObject *)obj)->ob_item;
}

/* The children the record of `obj` shows, in order, up to the item
   limit: a list's or tuple's elements, a dict's keys and values, an
   instance's field names and values (these two in `scratch`, unless
   `collected`: it has them already).  Return their count, pointing
   `children` at them; `size` gets what else the record depends on: the
   length of a list or tuple, the fields an instance hides. */
static Py_ssize_t
record_children(Encoder *e, PyObject *obj, ContainerKind kind, Fields *scratch,
                int collected, PyObject *const **children, Py_ssize_t *size)
{
    if (kind == CONTAINER_INSTANCE) {
        if (!collected) {
            collect_fields(e, scratch, obj);
        }
        *children = scratch->pairs;
        *size = scratch->hidden;
        return 2 * scratch->count;
    }
    if (kind == CONTAINER_DICT) {
        *children = scratch->pairs;
        *size = PyDict_GET_SIZE(obj);
        return 2 * dict_pairs(obj, scratch->pairs, VALUE_MAX_ITEMS);
    }
    *children = sequence_items(obj, kind);
    *size = Py_SIZE(obj);
    return *size > VALUE_MAX_ITEMS ? VALUE_MAX_ITEMS : *size;
}

/* Whether `obj` has the children `entry` keeps.  A dict's version tag
   stands for its keys and values (the entry keeps only those that are
   containers). */
static int
children_unchanged(Encoder *e, const ContainerCacheEntry *entry, PyObject *obj)
{
    if (entry->kind == CONTAINER_DICT) {
        return entry->dict_version == ((PyDictObject *)obj)->ma_version_tag;
    }
    Fields scratch;             /* not zero-filled */
    PyObject *const *children;
    Py_ssize_t size;
    Py_ssize_t n = record_children(e, obj, entry->kind, &scratch, 0, &children, &size);
    if (n != entry->nchildren || size != entry->size) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (children[i] != entry->children[i].obj) {
            return 0;
        }
    }
    return 1;
}

static int cached_record_is_current(Encoder *e, ContainerCacheEntry *entry, PyObject *obj);

/* Whether kept child `child`, a container alive (its holder holds it), has
   the record its holder's holds.  A child's stamp is older than its
   holder's: the check ends.  One found current in this encoding is so
   without a call (the same stamp: the same container). */
static inline int
kept_child_is_current(Encoder *e, const CachedChild *child)
{
    ContainerCacheEntry *entry = child->entry;
    return entry->stamp == child->stamp &&
           (entry->verified == e->w->encoding ||
            cached_record_is_current(e, entry, child->obj));
}

/* Whether the children `entry` keeps, the ones `obj` has, are current. */
static int
kept_children_are_current(Encoder *e, const ContainerCacheEntry *entry)
{
    for (Py_ssize_t i = 0; entry->inner > 0 && i < entry->nchildren; i++) {
        const CachedChild *child = &entry->children[i];
        if (child->stamp != 0 && !kept_child_is_current(e, child)) {
            return 0;
        }
    }
    return 1;
}

/* Whether instance `obj` has the inline attributes `entry` keeps, each
   current (-1 if its attributes are not inline now): at the same indexes
   of its class's shared keys (the class is the one kept, and its keys are
   only ever added to, so the same names), in the same order, with the
   same values.  Read straight from the attributes: no list of them made. */
static int
inline_instance_is_current(Encoder *e, const ContainerCacheEntry *entry, PyObject *obj)
{
    PyDictValues *values = inline_values(obj);
    if (values == NULL) {
        return -1;
    }
    int count = values->size;
    if (count != entry->inline_count) {
        return 0;
    }
    const uint8_t *order = get_insertion_order_array(values);
    const CachedChild *kept_values = entry->children + 1;     /* after a name */
    for (int i = 0; i < count; i++) {
        const CachedChild *child = &kept_values[2 * i];
        if (order[i] != entry->inline_order[i] || values->values[order[i]] != child->obj ||
            (child->stamp != 0 && !kept_child_is_current(e, child)))
        {
            return 0;
        }
    }
    return 1;
}

/* The __dict__ of instance `obj` if it holds all its fields (its class
   has no slots) in a table of its own, else NULL.  Only such a dict's
   version tag is renewed at every change: a dict made from an instance's
   inline attributes shares them, and a store to them leaves its version
   as it was (_PyObject_StoreInstanceAttribute()). */
static PyDictObject *
fields_dict(PyObject *obj)
{
    if (!(Py_TYPE(obj)->tp_flags & Py_TPFLAGS_INLINE_VALUES)) {
        return NULL;
    }
    PyDictObject *dict = _PyObject_GetManagedDict(obj);
    return dict != NULL && dict->ma_values == NULL ? dict : NULL;
}

/* Whether instance `obj` has the fields `entry` keeps, each current, as
   the dict that held them all has not changed since (its version tag; -1
   if that dict no longer holds them). */
static int
dict_instance_is_current(Encoder *e, const ContainerCacheEntry *entry, PyObject *obj)
{
    PyDictObject *dict = fields_dict(obj);
    if (dict != entry->fields_dict) {
        return -1;
    }
    return dict->ma_version_tag == entry->dict_version && kept_children_are_current(e, entry);
}

/* Whether `entry` holds the record `obj` has now: the same class, the
   same children, and each child container's entry still the one whose
   record this one holds.  No code runs within an encoding, so an entry
   found current or stale once in it stays so. */
static int
cached_record_is_current(Encoder *e, ContainerCacheEntry *entry, PyObject *obj)
{
    if (entry->container != obj || entry->cbor != e->cbor ||
        !class_key_is(&entry->cls, Py_TYPE(obj)))
    {
        return 0;
    }
    uint64_t encoding = e->w->encoding;
    if (entry->verified == encoding) {
        return 1;
    }
    int current = entry->refuted != encoding;
    if (current) {
        /* An instance's inline attributes, or the dict holding all its
           fields, answer at once (-1: neither does). */
        int quick = entry->inline_count >= 0 ? inline_instance_is_current(e, entry, obj)
                    : entry->fields_dict != NULL ? dict_instance_is_current(e, entry, obj)
                                                 : -1;
        current = quick >= 0 ? quick
                             : children_unchanged(e, entry, obj) &&
                               kept_children_are_current(e, entry);
    }
    if (current) {
        entry->verified = encoding;
    }
    else {
        entry->refuted = encoding;
    }
    return current;
}

/* Copy the record of `obj` if `entry` holds it and the limits here would
   not cut it.  The container itself is counted already. */
static int
put_cached_record(Encoder *e, ContainerCacheEntry *entry, PyObject *obj)
{
    if (!cached_record_is_current(e, entry, obj) || !count_kept_record(e, entry)) {
        return 0;
    }
    /* Room first: the record may be in e->b itself. */
    if (e->b->len + entry->record_len > e->b->cap && jb_reserve(e->b, entry->record_len) < 0) {
        return 1;
    }
    memcpy(e->b->data + e->b->len, kept_record(e->w, entry), entry->record_len);
    e->b->len += entry->record_len;
    return 1;
}

/* Keep child `obj` of a record about to be kept: an immutable scalar,
   held, or a container whose entry this encoding found or made current.
   Return 0 for any other: the record cannot be kept. */
static int
keep_child(Encoder *e, CachedChild *child, PyObject *obj)
{
    if (value_is_immutable_scalar(obj)) {
        *child = (CachedChild){Py_NewRef(obj), 0, NULL};
        return 1;
    }
    ContainerCacheEntry *inner = cached_entry(e->w, obj, e->cbor);
    if (inner == NULL || inner->verified != e->w->encoding) {
        return 0;
    }
    *child = (CachedChild){obj, inner->stamp, inner};
    return 1;
}

/* Keep in `entry` the order of instance `obj`'s attributes, if they are
   stored inline and the children it keeps are all of them, in that order;
   return their count, or -1. */
static int
keep_inline_order(ContainerCacheEntry *entry, PyObject *obj)
{
    PyDictValues *values = inline_values(obj);
    if (values == NULL || values->size > INLINE_LAYOUT_FIELDS || entry->size != 0 ||
        entry->nchildren != 2 * values->size)
    {
        return -1;
    }
    PyDictKeysObject *keys = ((PyHeapTypeObject *)Py_TYPE(obj))->ht_cached_keys;
    const uint8_t *order = get_insertion_order_array(values);
    for (int i = 0; i < values->size; i++) {
        int ix = order[i];
        if (entry->children[2 * i].obj != DK_UNICODE_ENTRIES(keys)[ix].me_key ||
            entry->children[2 * i + 1].obj != values->values[ix])
        {
            return -1;
        }
        entry->inline_order[i] = (uint8_t)ix;
    }
    return values->size;
}

/* Keep the record just written (from splice->start) for `obj`: it is
   whole, `height` levels deep and `nodes` values large, and e->need is
   its.  An instance's `fields`, if it was encoded from them, or NULL. */
static void
remember_container_record(Encoder *e, ContainerCacheEntry *entry, PyObject *obj,
                          ContainerKind kind, const Splice *splice, Fields *fields,
                          int height, Py_ssize_t nodes)
{
    size_t start = splice->start;
    container_entry_clear(entry);
    Fields scratch;             /* not zero-filled */
    PyObject *const *children;
    Py_ssize_t size;
    Py_ssize_t n = record_children(e, obj, kind, fields != NULL ? fields : &scratch,
                                   fields != NULL, &children, &size);
    if (e->b->len - start > CONTAINER_CACHE_MAX_RECORD) {
        return;
    }
    if (n > entry->children_cap) {
        CachedChild *grown = PyMem_RawRealloc(entry->children, n * sizeof(CachedChild));
        if (grown == NULL) {
            return;
        }
        entry->children = grown;
        entry->children_cap = n;
    }
    /* Where the elements lie: on each element, on the key of a pair. */
    int per_element = kind == CONTAINER_LIST || kind == CONTAINER_TUPLE;
    int per_pair = kind == CONTAINER_DICT;
    for (Py_ssize_t i = 0; i < n; i++) {
        CachedChild *child = &entry->children[i];
        if (!keep_child(e, child, children[i])) {
            container_entry_clear(entry);
            return;
        }
        Py_ssize_t element = per_element ? i : per_pair && i % 2 == 0 ? i / 2 : -1;
        child->at = element >= 0 ? splice->at[element] : 0;
        child->len = element >= 0 ? splice->len[element] : 0;
        entry->inner += child->stamp != 0;
        entry->nchildren++;
    }
    /* A record in the trace's output stays there until the output goes. */
    entry->in_output = e->b == &e->w->stream.out;
    if ((!entry->in_output && keep_record(e, start, &entry->record) < 0) ||
        (!class_key_is(&entry->cls, Py_TYPE(obj)) && class_key_set(&entry->cls, Py_TYPE(obj)) < 0))
    {
        container_entry_clear(entry);
        return;
    }
    entry->record_at = start;
    entry->record_len = e->b->len - start;
    entry->container = obj;
    entry->kind = (uint8_t)kind;
    entry->cbor = (uint8_t)e->cbor;
    entry->stamp = ++e->w->record_stamps;
    entry->verified = e->w->encoding;
    entry->refuted = 0;
    entry->size = size;
    PyDictObject *dict = kind == CONTAINER_DICT ? (PyDictObject *)obj
                         : kind == CONTAINER_INSTANCE ? fields_dict(obj) : NULL;
    entry->fields_dict = kind == CONTAINER_INSTANCE ? dict : NULL;
    entry->dict_version = dict != NULL ? dict->ma_version_tag : 0;
    entry->height = height;
    entry->nodes = nodes;
    entry->need = e->need;
    entry->inline_count = kind == CONTAINER_INSTANCE ? keep_inline_order(entry, obj) : -1;
}

/* Whether `tp` is a class defined in Python whose instances are laid out
   as object's are: then no builtin kind below applies (a subclass of
   float or module, say, would have that type as its best base), and the
   subtype checks they need are skipped. */
static int
is_plain_instance(PyTypeObject *tp)
{
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) ||
        (tp->tp_flags & (Py_TPFLAGS_BASE_EXC_SUBCLASS | Py_TPFLAGS_TYPE_SUBCLASS)))
    {
        return 0;
    }
    while (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        tp = tp->tp_base;
    }
    return tp == &PyBaseObject_Type;
}

/* The log block of a container met with its record in a container
   entry: the entry and its stamp. */
#define LOGGED_ENTRY ((uintptr_t)-1)

/* Room for `n` more words at the end of the log being made, or NULL, and
   no log, if the log would grow past its limit or out of memory. */
static uintptr_t *
log_words(Encoder *e, Py_ssize_t n)
{
    RecordLog *log = &e->w->cut_log;
    if (log->len + n > CUT_RECORD_MAX_LOG) {
        e->logging = 0;
        return NULL;
    }
    if (log->len + n > log->cap) {
        Py_ssize_t cap = log->cap ? 2 * log->cap : 256;
        while (cap < log->len + n) {
            cap *= 2;
        }
        uintptr_t *grown = PyMem_RawRealloc(log->words, (size_t)cap * sizeof(uintptr_t));
        if (grown == NULL) {
            e->logging = 0;
            return NULL;
        }
        log->words = grown;
        log->cap = cap;
    }
    uintptr_t *at = &log->words[log->len];
    log->len += n;
    return at;
}

static int
log_hold(Encoder *e, PyObject *obj)
{
    RecordLog *log = &e->w->cut_log;
    if (log->nheld == log->held_cap) {
        Py_ssize_t cap = log->held_cap ? 2 * log->held_cap : 64;
        PyObject **grown = PyMem_RawRealloc(log->held, cap * sizeof(PyObject *));
        if (grown == NULL) {
            e->logging = 0;
            return -1;
        }
        log->held = grown;
        log->held_cap = cap;
    }
    log->held[log->nheld++] = Py_NewRef(obj);
    return 0;
}

static void
log_entry(Encoder *e, PyObject *obj, const ContainerCacheEntry *entry)
{
    uintptr_t *at = log_words(e, 5);
    if (at != NULL) {
        at[0] = (uintptr_t)obj;
        at[1] = LOGGED_ENTRY;
        at[2] = (uintptr_t)entry;
        at[3] = (uintptr_t)entry->stamp;
        at[4] = 4;
    }
}

/* Whether `obj` is written by encode_container() with a record that
   depends on nothing but its class and children: such a container is
   logged wherever it is met (unless it is cut there, or is a cycle). */
static int
is_logged_container(TraceWriter *w, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    return PyList_Check(obj) || PyTuple_Check(obj) || tp == &PyDict_Type ||
           (is_plain_instance(tp) && instance_kind(w, tp) == CONTAINER_INSTANCE);
}

/* Log `obj` (after its elements): its class and its `n` children (`size`
   as record_children() gives it), each either an immutable scalar, held,
   or a container with its class's version tag.  That tag
   is enough for an element the limits cut or a cycle: its record depends
   on its class alone.  The block of an element encoded checks the rest.
   Any other child ends the log: its record may change with nothing in
   the log changed (a function is named by its mutable __qualname__). */
static void
log_children(Encoder *e, PyObject *obj, ContainerKind kind, PyObject *const *children,
             Py_ssize_t n, Py_ssize_t size)
{
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject *qualname = class_qualname(tp);
    if (!PyUnstable_Type_AssignVersionTag(tp) || (qualname != NULL && log_hold(e, qualname) < 0)) {
        e->logging = 0;
        return;
    }
    uintptr_t *at = log_words(e, 8 + 2 * n);
    if (at == NULL) {
        return;
    }
    at[0] = (uintptr_t)obj;
    at[1] = (uintptr_t)kind;
    at[2] = (uintptr_t)tp;
    at[3] = tp->tp_version_tag;
    at[4] = (uintptr_t)qualname;
    at[5] = (uintptr_t)size;
    at[6] = (uintptr_t)n;
    at[7 + 2 * n] = (uintptr_t)(7 + 2 * n);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *child = children[i];
        uintptr_t tag = 0;
        if (!value_is_immutable_scalar(child)) {
            if (!is_logged_container(e->w, child) ||
                !PyUnstable_Type_AssignVersionTag(Py_TYPE(child)))
            {
                e->logging = 0;
                return;
            }
            tag = Py_TYPE(child)->tp_version_tag;
        }
        else if (log_hold(e, child) < 0) {
            return;
        }
        at[7 + 2 * i] = (uintptr_t)child;
        at[8 + 2 * i] = tag;
    }
}

/* Log dict `obj` by its version tag, which stands for its keys and
   values: the dict holds them.  As in log_children(), a child that is
   neither a scalar nor a container ends the log. */
static void
log_dict(Encoder *e, PyObject *obj)
{
    PyObject *pairs[2 * VALUE_MAX_ITEMS];
    Py_ssize_t n = 2 * dict_pairs(obj, pairs, VALUE_MAX_ITEMS);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!value_is_immutable_scalar(pairs[i]) && !is_logged_container(e->w, pairs[i])) {
            e->logging = 0;
            return;
        }
    }
    uintptr_t *at = log_words(e, 4);
    if (at != NULL) {
        at[0] = (uintptr_t)obj;
        at[1] = CONTAINER_DICT;
        at[2] = (uintptr_t)((PyDictObject *)obj)->ma_version_tag;
        at[3] = 3;
    }
}

/* Log `obj` by its children as the record cache finds them. */
static void
log_record_children(Encoder *e, PyObject *obj, ContainerKind kind)
{
    if (kind == CONTAINER_DICT) {
        log_dict(e, obj);
        return;
    }
    Fields scratch;             /* not zero-filled */
    PyObject *const *children;
    Py_ssize_t size;
    Py_ssize_t n = record_children(e, obj, kind, &scratch, 0, &children, &size);
    log_children(e, obj, kind, children, n, size);
}

/* Whether `child`, alive, is the one logged at `logged`: the same object,
   of the same class version if it is a container. */
static inline int
is_logged_child(PyObject *child, const uintptr_t *logged)
{
    return (uintptr_t)child == logged[0] &&
           (logged[1] == 0 || Py_TYPE(child)->tp_version_tag == logged[1]);
}

/* Whether instance `obj` has the fields its log block (`n` children, at
   `logged`) lists, read straight from its inline attributes in the order
   collect_fields() lists them (-1 if they are not inline). */
static int
inline_fields_are_logged(PyObject *obj, const uintptr_t *logged, Py_ssize_t n)
{
    PyDictValues *values = inline_values(obj);
    if (values == NULL) {
        return -1;
    }
    PyDictKeysObject *keys = ((PyHeapTypeObject *)Py_TYPE(obj))->ht_cached_keys;
    const uint8_t *order = get_insertion_order_array(values);
    Py_ssize_t child = 0;
    for (int i = 0; i < values->size; i++) {
        int ix = order[i];
        PyObject *value = values->values[ix];
        if (value == NULL) {
            continue;
        }
        if (child + 2 > n || !is_logged_child(DK_UNICODE_ENTRIES(keys)[ix].me_key,
                                              &logged[2 * child]) ||
            !is_logged_child(value, &logged[2 * child + 2]))
        {
            return 0;
        }
        child += 2;
    }
    return child == n;
}

/* Whether the container a log block was made for, alive at `block[0]`,
   is still as the block shows it. */
static int
logged_block_is_current(Encoder *e, const uintptr_t *block)
{
    PyObject *obj = (PyObject *)block[0];
    uintptr_t kind = block[1];
    if (kind == LOGGED_ENTRY) {
        ContainerCacheEntry *entry = (ContainerCacheEntry *)block[2];
        return entry->stamp == block[3] && cached_record_is_current(e, entry, obj);
    }
    if (kind == CONTAINER_DICT) {
        return Py_IS_TYPE(obj, &PyDict_Type) &&
               ((PyDictObject *)obj)->ma_version_tag == block[2];
    }
    /* The same class (so the same kind of container). */
    PyTypeObject *tp = Py_TYPE(obj);
    if ((uintptr_t)tp != block[2] || tp->tp_version_tag != block[3] ||
        (uintptr_t)class_qualname(tp) != block[4])
    {
        return 0;
    }
    const uintptr_t *logged = &block[7];
    /* Inline attributes are never more than the item limit: none hidden. */
    if (kind == CONTAINER_INSTANCE && block[5] == 0) {
        int same = inline_fields_are_logged(obj, logged, (Py_ssize_t)block[6]);
        if (same >= 0) {
            return same;
        }
    }
    Fields scratch;             /* not zero-filled */
    PyObject *const *children;
    Py_ssize_t size;
    Py_ssize_t n = record_children(e, obj, (ContainerKind)kind, &scratch, 0, &children,
                                   &size);
    if ((uintptr_t)size != block[5] || (uintptr_t)n != block[6]) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        /* A child the same as the logged one is alive: `obj` holds it. */
        if (!is_logged_child(children[i], &logged[2 * i])) {
            return 0;
        }
    }
    return 1;
}

/* Whether `entry`'s record is the one its value has now.  Read from the
   end, each block's container is alive: the value itself, or a child of
   a container whose children were just found the same. */
static int
cut_record_is_current(Encoder *e, const CutRecordEntry *entry)
{
    const uintptr_t *words = entry->log.words;
    Py_ssize_t end = entry->log.len;
    while (end > 0) {
        end -= (Py_ssize_t)words[end - 1] + 1;
        if (!logged_block_is_current(e, &words[end])) {
            return 0;
        }
    }
    return 1;
}

/* The cut record cache's entry for value `obj`, or NULL (out of memory). */
static CutRecordEntry *
cut_record_entry(Encoder *e, PyObject *obj)
{
    TraceWriter *w = e->w;
    if (w->cut_records == NULL) {
        w->cut_records = PyMem_RawCalloc(CUT_RECORD_CACHE_SIZE, sizeof(CutRecordEntry));
        if (w->cut_records == NULL) {
            return NULL;
        }
    }
    uint64_t hash = address_hash((uintptr_t)obj);
    return &w->cut_records[(size_t)(hash >> (64 - CUT_RECORD_CACHE_BITS)) ^ (size_t)e->cbor];
}

/* What a cut record cache entry knows of its value.  A value cut once is
   mostly cut again: it is logged the next time it is met (a whole value
   is kept by its container entry, and costs no log).  A value whose log
   was given up (too large, or with a child no log can follow) is not
   logged again: its log would cost as much as its record. */
typedef enum {
    CUT_NOTED, CUT_KEPT, CUT_BARRED,
} CutRecordState;

/* Copy value `obj`'s cut record if `entry` holds it as it is now. */
static int
put_cut_record(Encoder *e, CutRecordEntry *entry)
{
    uint64_t encoding = e->w->encoding;
    if (entry->state != CUT_KEPT || entry->refuted == encoding) {
        return 0;
    }
    if (entry->verified != encoding) {
        if (!cut_record_is_current(e, entry)) {
            entry->refuted = encoding;
            return 0;
        }
        entry->verified = encoding;
    }
    jb_put(e->b, entry->record.data, entry->record.len);
    return 1;
}

/* Make `entry` know value `obj` in `state` (with no record). */
static void
note_cut_value(Encoder *e, CutRecordEntry *entry, PyObject *obj, CutRecordState state)
{
    record_log_truncate(&entry->log, 0, 0);
    entry->root = obj;
    entry->cbor = (uint8_t)e->cbor;
    entry->state = (uint8_t)state;
}

/* Keep in `entry` the cut record of value `obj`, just written from
   `start`, with the log made of it. */
static void
remember_cut_record(Encoder *e, CutRecordEntry *entry, PyObject *obj, size_t start)
{
    note_cut_value(e, entry, obj, CUT_BARRED);
    if (e->b->len - start > CONTAINER_CACHE_MAX_RECORD ||
        keep_record(e, start, &entry->record) < 0)
    {
        return;
    }
    RecordLog emptied = entry->log;
    entry->log = e->w->cut_log;
    e->w->cut_log = emptied;
    entry->state = CUT_KEPT;
    entry->verified = e->w->encoding;
    entry->refuted = 0;
}

static void
encode_container(Encoder *e, PyObject *obj, ContainerKind kind)
{
    for (int i = 0; i < e->depth; i++) {
        if (e->open[i] == obj) {
            put_marker(e, "<cycle>");
            e->cuts++;
            return;
        }
    }
    if (e->depth >= VALUE_MAX_DEPTH) {
        put_ellipsis(e);
        return;
    }
    e->w->group_met_container = 1;
    int cacheable = record_is_cacheable(obj, kind);
    ContainerCacheEntry *cached = cacheable ? cached_entry(e->w, obj, e->cbor) : NULL;
    if (cached != NULL && put_cached_record(e, cached, obj)) {
        if (e->logging) {
            log_entry(e, obj, cached);
        }
        return;
    }
    int depth = e->depth;
    CutRecordEntry *cut = NULL;
    int known = 0;              /* to the cut record cache */
    if (depth == 0 && (cut = cut_record_entry(e, obj)) != NULL &&
        cut->root == obj && cut->cbor == e->cbor)
    {
        if (put_cut_record(e, cut)) {
            return;
        }
        known = 1;
        if (cut->state != CUT_BARRED) {
            record_log_truncate(&e->w->cut_log, 0, 0);
            e->logging = 1;
        }
    }
    Splice splice;              /* not zero-filled: read as written */
    Fields fields;              /* the same: 1.6 kB per instance */
    Fields *collected = NULL;
    size_t start = splice.start = e->b->len;
    Py_ssize_t cuts = e->cuts, used = e->used - 1;
    Py_ssize_t log_len = e->w->cut_log.len, log_held = e->w->cut_log.nheld;
    int outer_deepest = e->deepest;
    e->deepest = depth;
    e->open[e->depth++] = obj;
    if (e->logging && !cacheable) {
        e->logging = 0;
    }
    /* A log lists what each record is made of: copied parts are not. */
    ContainerCacheEntry *old = cached != NULL && cached->in_output && cached->kind == kind &&
                               kind != CONTAINER_INSTANCE && !e->logging ? cached : NULL;
    splice.old = old;
    splice.run_len = 0;
    if (old != NULL) {
        old->pinned = 1;        /* its children's records are read */
    }
    switch (kind) {
    case CONTAINER_LIST:
        encode_list(e, obj, &splice);
        break;
    case CONTAINER_TUPLE:
        encode_tuple(e, obj, &splice);
        break;
    case CONTAINER_DICT:
        encode_dict(e, obj, &splice);
        break;
    case CONTAINER_SET:
        encode_set(e, obj);
        break;
    default:
        if (!encode_flat_instance(e, obj)) {
            encode_instance(e, obj, &fields);
            collected = &fields;
        }
    }
    e->depth--;
    if (old != NULL) {
        old->pinned = 0;
    }
    /* Only a whole record is kept: a cut or cycle marker depends on where
       the container is met. */
    int whole = e->cuts == cuts && !e->b->failed && !PyErr_Occurred();
    if (cacheable && whole && (cached = entry_for_record(e->w, obj, e->cbor)) != NULL) {
        remember_container_record(e, cached, obj, kind, &splice, collected,
                                  e->deepest - depth, e->used - used);
    }
    if (e->logging) {
        if (whole && cached != NULL && entry_holds(cached, obj, e->cbor) &&
            cached->verified == e->w->encoding)
        {
            /* The entry stands for the blocks of the elements. */
            record_log_truncate(&e->w->cut_log, log_len, log_held);
            log_entry(e, obj, cached);
        }
        else {
            log_record_children(e, obj, kind);
        }
    }
    if (cut != NULL) {
        if (e->cuts > 0 && !e->b->failed && !PyErr_Occurred()) {
            if (e->logging) {
                remember_cut_record(e, cut, obj, start);
            }
            else if (!known) {
                note_cut_value(e, cut, obj, CUT_NOTED);
            }
            else if (cut->state != CUT_BARRED) {
                note_cut_value(e, cut, obj, CUT_BARRED);   /* the log was given up */
            }
        }
        e->logging = 0;
    }
    if (outer_deepest > e->deepest) {
        e->deepest = outer_deepest;
    }
}

static void
encode(Encoder *e, PyObject *obj)
{
    ContainerKind kind;
    if (e->used >= e->limit) {
        put_ellipsis(e);
        return;
    }
    e->used++;
    e->need = 1;
    /* The builtin types themselves first: the checks below that accept
       subclasses cost a call to PyType_IsSubtype each. */
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp == &PyLong_Type) {
        encode_int(e, obj);
    }
    else if (tp == &PyFloat_Type) {
        encode_float(e, obj);
    }
    else if (tp == &PyUnicode_Type) {
        encode_str(e, obj);
    }
    else if (tp == &PyList_Type) {
        encode_container(e, obj, CONTAINER_LIST);
    }
    else if (tp == &PyTuple_Type) {
        encode_container(e, obj, CONTAINER_TUPLE);
    }
    else if (tp == &PyDict_Type) {
        encode_container(e, obj, CONTAINER_DICT);
    }
    else if (obj == Py_None) {
        PUT_HEAD(e, RECORD_NONE);
    }
    else if (is_plain_instance(Py_TYPE(obj))) {
        ContainerKind kind = instance_kind(e->w, Py_TYPE(obj));
        if (kind != NOT_CONTAINER) {
            encode_container(e, obj, kind);
        }
        else {
            encode_opaque(e, obj);
        }
    }
    else if (PyBool_Check(obj)) {
        put_bool_record(e->b, e->cbor, obj == Py_True, tw_builtin_type_id(e->w, BUILTIN_BOOL));
    }
    else if (PyLong_Check(obj)) {
        encode_int(e, obj);
    }
    else if (PyFloat_Check(obj)) {
        encode_float(e, obj);
    }
    else if (PyUnicode_Check(obj)) {
        encode_str(e, obj);
    }
    else if (PyBytes_Check(obj)) {
        encode_bytes(e, obj);
    }
    else if (PyFunction_Check(obj)) {
        encode_named(e, "function ", ((PyFunctionObject *)obj)->func_qualname, "",
                     BUILTIN_FUNCTION);
    }
    else if (PyMethod_Check(obj) && PyFunction_Check(PyMethod_GET_FUNCTION(obj))) {
        PyFunctionObject *func = (PyFunctionObject *)PyMethod_GET_FUNCTION(obj);
        encode_named(e, "bound method ", func->func_qualname, "", BUILTIN_FUNCTION);
    }
    else if (PyCFunction_Check(obj)) {
        encode_builtin_function(e, (PyCFunctionObject *)obj);
    }
    else if (PyType_Check(obj)) {
        encode_class(e, (PyTypeObject *)obj);
    }
    else if (PyModule_Check(obj)) {
        PyObject *dict = PyModule_GetDict(obj);
        PyObject *name = PyDict_GetItemWithError(dict, &_Py_ID(__name__));
        PyErr_Clear();
        encode_named(e, "module '", name, "'", BUILTIN_MODULE);
    }
    else if (PyExceptionInstance_Check(obj)) {
        encode_exception(e, obj);
    }
    else if ((kind = container_kind(e->w, obj)) != NOT_CONTAINER) {
        encode_container(e, obj, kind);
    }
    else {
        encode_opaque(e, obj);
    }
}

void
encode_value_as(TraceWriter *w, JsonBuffer *b, PyObject *obj, int cbor)
{
    size_t start = b->len;
    int failed_before = b->failed;
    /* Not zero-filled: `open` is read up to `depth` only. */
    Encoder e;
    e.w = w;
    e.b = b;
    e.cbor = cbor;
    e.depth = 0;
    e.used = 0;
    e.limit = node_limit;
    e.cuts = 0;
    e.need = 1;
    e.deepest = 0;
    e.logging = 0;
    e.slots = NULL;
    if (!w->in_group) {
        w->encoding++;
    }
    encode(&e, obj);
    PyErr_Clear();
    if (b->failed && !failed_before) {
        /* Out of memory: keep the trace valid and report the failure. */
        if (!w->stream.io_error) {
            w->stream.io_error = ENOMEM;
        }
        b->failed = 0;
        if (b == &w->stream.out) {
            tw_keep_container_records(w);     /* before their bytes go */
        }
        b->len = start;
        PUT_HEAD(&e, RECORD_NONE);
    }
}

/* Append an exception argument's text: str as is, int and float as their
   C formatting does, anything else by its type name. */
static void
put_exception_arg(JsonBuffer *b, PyObject *arg)
{
    if (PyUnicode_Check(arg)) {
        jb_unicode_body(b, arg, VALUE_MAX_STRING);
        return;
    }
    if (PyLong_CheckExact(arg) || PyFloat_CheckExact(arg) || PyBool_Check(arg) ||
        arg == Py_None)
    {
        PyObject *text = PyObject_Str(arg);   /* C code of a builtin type */
        if (text != NULL) {
            jb_unicode_body(b, text, VALUE_MAX_STRING);
            Py_DECREF(text);
            return;
        }
        PyErr_Clear();
    }
    JB_LITERAL(b, "<");
    put_type_name_body(b, Py_TYPE(arg));
    JB_LITERAL(b, " object>");
}

/* The exception's own __str__ is never called: for several builtin classes
   it formats attributes that may hold user objects (OSError.filename). */
void
describe_exception_type(JsonBuffer *b, PyObject *exc)
{
    PyTypeObject *tp = Py_TYPE(exc);
    PyObject *name = PyType_GetFullyQualifiedName(tp);
    if (name != NULL) {
        jb_unicode_body(b, name, PY_SSIZE_T_MAX);
        Py_DECREF(name);
    }
    else {
        PyErr_Clear();
        jb_utf8_body(b, tp->tp_name, strlen(tp->tp_name));
    }
}

void
describe_exception_message(JsonBuffer *b, PyObject *exc)
{
    PyObject *args = Py_XNewRef(((PyBaseExceptionObject *)exc)->args);
    if (args != NULL && PyTuple_Check(args)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) {
            if (i) {
                JB_LITERAL(b, ", ");
            }
            put_exception_arg(b, PyTuple_GET_ITEM(args, i));
        }
    }
    Py_XDECREF(args);
}

void
describe_exception(JsonBuffer *b, PyObject *exc)
{
    describe_exception_type(b, exc);
    PyObject *args = ((PyBaseExceptionObject *)exc)->args;
    if (args != NULL && PyTuple_Check(args) && PyTuple_GET_SIZE(args) > 0) {
        JB_LITERAL(b, ": ");
        describe_exception_message(b, exc);
    }
}
