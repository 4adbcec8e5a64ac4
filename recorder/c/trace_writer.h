/* Streaming writer of a CodeTracer trace: trace.json (a JSON array of
 * events) or trace.ct (a CTFS container whose events.log holds the same
 * events, split-binary encoded and zstd-compressed in chunks).
 *
 * Events are appended to a buffer that is written out whenever it grows past
 * a threshold, so memory stays bounded whatever the trace length.  Paths,
 * functions, types and variable names are interned: the first use emits the
 * interning event and later uses refer to its positional id, as the format
 * requires (see docs/trace-format.md).  ValueRecords come encoded in the
 * trace's own encoding: JSON for trace.json, CBOR for trace.ct. */

#ifndef CTRECORD_TRACE_WRITER_H
#define CTRECORD_TRACE_WRITER_H

#include "output_stream.h"
#include "ctfs_container.h"

typedef enum {
    TRACE_FORMAT_JSON,
    TRACE_FORMAT_CTFS,
} TraceFormat;

/* What CTFS's meta.dat says of the recording. */
typedef struct {
    PyObject *program;           /* str */
    PyObject *args;              /* list of str */
    PyObject *workdir;           /* str */
} TraceOrigin;

/* CodeTracer's TypeKind numbers that python-ct uses. */
enum {
    TYPE_KIND_SEQ = 0,
    TYPE_KIND_STRUCT = 6,
    TYPE_KIND_INT = 7,
    TYPE_KIND_FLOAT = 8,
    TYPE_KIND_STRING = 9,
    TYPE_KIND_BOOL = 12,
    TYPE_KIND_RAW = 16,
    TYPE_KIND_ERROR = 24,
    TYPE_KIND_FUNCTION = 25,
    TYPE_KIND_TUPLE = 27,
    TYPE_KIND_NONE = 30,
};

/* CodeTracer's EventLogKind numbers that python-ct uses. */
enum {
    EVENT_KIND_WRITE = 0,        /* stdout */
    EVENT_KIND_WRITE_OTHER = 2,  /* stderr */
    EVENT_KIND_READ = 3,         /* stdin */
    EVENT_KIND_ERROR = 11,
};

/* Builtin types whose ids are cached instead of looked up per value. */
typedef enum {
    BUILTIN_NONE, BUILTIN_BOOL, BUILTIN_INT, BUILTIN_FLOAT, BUILTIN_STR,
    BUILTIN_BYTES, BUILTIN_LIST, BUILTIN_TUPLE, BUILTIN_DICT, BUILTIN_SET,
    BUILTIN_FROZENSET, BUILTIN_FUNCTION, BUILTIN_CLASS, BUILTIN_MODULE,
    BUILTIN_OBJECT, BUILTIN_MARKER,
    BUILTIN_COUNT
} BuiltinType;

/* A class as the caches below know it: by its address and version tag
   (tags are never reused, so the class need not be kept alive, and a new
   __module__ gives it a new one) and its __qualname__ object, held: a
   class is renamed by a new one, which changes no tag. */
typedef struct {
    const PyTypeObject *type;    /* compared, never dereferenced; NULL: none */
    unsigned int version;
    PyObject *qualname;          /* for a heap type, else NULL */
} ClassKey;

static inline PyObject *
class_qualname(PyTypeObject *tp)
{
    return (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) ? ((PyHeapTypeObject *)tp)->ht_qualname : NULL;
}

/* Whether `key` is `tp` as it is now. */
static inline int
class_key_is(const ClassKey *key, PyTypeObject *tp)
{
    return key->type == tp && key->version == tp->tp_version_tag &&
           key->qualname == class_qualname(tp);
}

/* Make `key` know `tp`; -1 (and `key` empty) if `tp` has no version tag
   left to give. */
static inline int
class_key_set(ClassKey *key, PyTypeObject *tp)
{
    if (!PyUnstable_Type_AssignVersionTag(tp)) {
        key->type = NULL;
        return -1;
    }
    key->type = tp;
    key->version = tp->tp_version_tag;
    Py_XSETREF(key->qualname, Py_XNewRef(class_qualname(tp)));
    return 0;
}

static inline void
class_key_clear(ClassKey *key)
{
    key->type = NULL;
    Py_CLEAR(key->qualname);
}

/* A multiplicative hash of an address (or of a key made of addresses),
   whose top bits index a cache: objects allocated side by side spread
   over it.  The low 4 bits of an address are always 0. */
static inline uint64_t
address_hash(uintptr_t key)
{
    return (uint64_t)(key >> 4) * UINT64_C(0x9E3779B97F4A7C15);
}

/* The caches below that are looked up by class, and the record cache,
   come in sets of two entries: a program's classes are few, but with one
   entry per address hash, two that share it (two chances in three among a
   dozen classes in 64 entries) miss at every lookup.  The set of the
   object at `address` (with `salt`) in a cache of 2 << `bits` entries: */
static inline size_t
set_of_two(const void *address, uintptr_t salt, int bits)
{
    return 2 * (size_t)(address_hash((uintptr_t)address + (salt << 4)) >> (64 - bits));
}

/* A miss in `set` (two entries of `size` bytes): the first entry is the
   one to fill (it holds what the second held, for its filler to drop or
   reuse), and what it held moves to the second. */
static inline void
set_of_two_rotate(void *set, size_t size)
{
    unsigned char *first = set, *second = first + size;
    for (size_t i = 0; i < size; i++) {
        unsigned char held = first[i];
        first[i] = second[i];
        second[i] = held;
    }
}

/* A Struct type the writer interned, by its class and its field names
   (held, so none can be replaced by another at the same address). */
#define STRUCT_TYPE_SET_BITS 6
#define STRUCT_TYPE_CACHE_SIZE (2 << STRUCT_TYPE_SET_BITS)
#define STRUCT_TYPE_CACHE_FIELDS 8
typedef struct {
    ClassKey cls;                /* cls.type NULL: empty */
    PyObject *names[STRUCT_TYPE_CACHE_FIELDS];
    Py_ssize_t count;
    Py_ssize_t hidden;
    Py_ssize_t id;
} StructTypeEntry;

static inline void
struct_type_clear(StructTypeEntry *entry)
{
    for (Py_ssize_t i = 0; entry->cls.type != NULL && i < entry->count; i++) {
        Py_DECREF(entry->names[i]);
    }
    class_key_clear(&entry->cls);
}

/* The Struct type of instances whose attributes are stored inline, by
   their class and the indexes into the class's shared keys that they use,
   in order: the keys of a class are only ever added to, so the indexes
   name the fields. */
#define INLINE_LAYOUT_SET_BITS 7
#define INLINE_LAYOUT_CACHE_SIZE (2 << INLINE_LAYOUT_SET_BITS)
#define INLINE_LAYOUT_FIELDS 16
typedef struct {
    ClassKey cls;                /* cls.type NULL: empty */
    uint8_t order[INLINE_LAYOUT_FIELDS];
    int count;
    Py_ssize_t id;
} InlineLayoutEntry;

/* The slot fields of a class's instances (members defined in Python that
   are not dunders, from the base class on), by the class's version tag:
   tags are never reused, and a change of the MRO gives the class a new
   one.  Looking them up walks the MRO's members; most classes have none. */
#define SLOT_LAYOUT_SET_BITS 7
#define SLOT_LAYOUT_CACHE_SIZE (2 << SLOT_LAYOUT_SET_BITS)
typedef struct {
    Py_ssize_t offset;
    PyObject *name;              /* interned, held */
} SlotField;

typedef struct {
    const PyTypeObject *type;    /* compared, never dereferenced */
    unsigned int version;        /* 0: empty */
    Py_ssize_t count;
    SlotField *fields;
} SlotLayoutEntry;

/* Drop the names `entry` holds, keeping its memory for the next class. */
static inline void
slot_layout_clear(SlotLayoutEntry *entry)
{
    for (Py_ssize_t i = 0; i < entry->count; i++) {
        Py_DECREF(entry->fields[i].name);
    }
    entry->count = 0;
}

/* The id of the Type named after a class that is not a builtin (a
   subclass of a builtin, or a class whose instances show as opaque), by
   the class and the TypeKind. */
#define NAMED_TYPE_SET_BITS 6
#define NAMED_TYPE_CACHE_SIZE (2 << NAMED_TYPE_SET_BITS)
typedef struct {
    ClassKey cls;                /* cls.type NULL: empty */
    int kind;
    Py_ssize_t id;
} NamedTypeEntry;

/* The encoded ValueRecord of the marker of a cut ("…"), by encoding (JSON,
   CBOR): a value cut by the size limit has hundreds of them. */
typedef struct {
    Py_ssize_t type_id;          /* of the marker type it was written with */
    uint8_t len;                 /* 0: none yet */
    char record[64];             /* read 64 bytes at a time */
} CutMarkerRecord;

/* The encoded ValueRecord of an object shown as opaque ("<module.Class
   object>"), which depends on its class alone. */
#define OPAQUE_RECORD_SET_BITS 6
#define OPAQUE_RECORD_CACHE_SIZE (2 << OPAQUE_RECORD_SET_BITS)
typedef struct {
    ClassKey cls;                /* cls.type NULL: empty */
    uint8_t cbor;
    JsonBuffer record;
} OpaqueRecordEntry;

/* The encoded ValueRecord of a str seen recently (a strong reference, so
   its address cannot be reused by another string while it is here). */
#define STR_CACHE_SIZE 256
typedef struct {
    PyObject *str;               /* NULL: empty */
    JsonBuffer record;
} StrCacheEntry;

/* The encoded ValueRecord of a list, tuple, dict or instance, kept so
   that a container a variable keeps from step to step is encoded once and
   then copied while it stays the same (value_encoder.c decides).  What
   shows it is the same: its class, and its children (a list's or tuple's
   elements, a dict's keys and values, an instance's field names and
   values), which must be the same objects, each either an immutable scalar
   (held, so no other object can take its address) or a container whose
   own entry still holds the record copied into this one (by its stamp).
   A dict's version tag, which every change renews and no other dict ever
   had, stands for its children, which are kept all the same: when a list,
   tuple or dict changes, the records of its children that did not are
   copied from its old record (each child keeps where its record lies in
   it), as long as that is still in the trace's output.  The container
   itself is not kept alive (its elements may become objects whose
   finalizers must run when the program drops it): its address is
   compared, never dereferenced.  Only records with no cut and no cycle
   marker are kept (those depend on where the container is met), and they
   are copied only where the limits would not cut them either.  A new
   record replaces the one of its set that was found current least
   recently.  A record written to the trace's output is not copied: the
   entry points at it there until the output is handed over (or its bytes
   moved), and only then is it copied into the entry's own buffer
   (tw_keep_container_records()). */
#define CONTAINER_CACHE_SET_BITS 9
#define CONTAINER_CACHE_SIZE (2 << CONTAINER_CACHE_SET_BITS)
/* Larger records are encoded again: the cache's memory stays bounded. */
#define CONTAINER_CACHE_MAX_RECORD 16384
typedef struct ContainerCacheEntry_ ContainerCacheEntry;
typedef struct {
    PyObject *obj;               /* held if stamp is 0 */
    uint64_t stamp;              /* of a container's entry; 0: a scalar */
    ContainerCacheEntry *entry;  /* that entry (they never move) */
    uint32_t at;                 /* where the child's own record lies in the */
    uint32_t len;                /* record of a list, tuple or dict */
} CachedChild;

struct ContainerCacheEntry_ {
    const void *container;       /* NULL: empty */
    ClassKey cls;
    uint8_t kind;                /* value_encoder.c's ContainerKind */
    uint8_t cbor;
    uint64_t stamp;              /* unique to this record */
    uint64_t verified;           /* the encoding that last found it current */
    uint64_t refuted;            /* the encoding that last found it stale */
    Py_ssize_t size;             /* a sequence's length, an instance's
                                    hidden fields */
    uint64_t dict_version;       /* of a dict, or of fields_dict */
    const void *fields_dict;     /* an instance's __dict__ holding all its
                                    fields, or NULL */
    CachedChild *children;
    Py_ssize_t nchildren;
    Py_ssize_t children_cap;
    Py_ssize_t inner;            /* children that are containers */
    int height;                  /* nesting levels below the record's own */
    Py_ssize_t nodes;            /* values the record counts */
    Py_ssize_t need;             /* a size limit under which it is whole */
    int inline_count;            /* -1, or an instance's attributes, stored
                                    inline and kept whole (the children), */
    uint8_t inline_order[INLINE_LAYOUT_FIELDS];  /* by these indexes */
    uint8_t pinned;              /* its old record is being copied from */
    int in_output;               /* the record is in the trace's output, */
    size_t record_at;            /* from here on, */
    size_t record_len;           /* this long (wherever it is) */
    JsonBuffer record;           /* or here */
};

/* Empty `entry`, keeping its memory for the next record. */
static inline void
container_entry_clear(ContainerCacheEntry *entry)
{
    for (Py_ssize_t i = 0; i < entry->nchildren; i++) {
        if (entry->children[i].stamp == 0) {
            Py_DECREF(entry->children[i].obj);
        }
    }
    entry->nchildren = 0;
    entry->inner = 0;
    entry->container = NULL;
    entry->in_output = 0;
}

/* The record of a variable's value that the limits cut or that shows a
   cycle (so no container entry above holds it: where a container is met
   decides its markers), with a log of what the record was made from:
   each container the encoder met in it, logged after its own elements,
   either by the stamp of the container entry its record came from, or by
   its class and children as that entry would keep them (a dict by its
   version tag; a scalar child held, any other with its class's version
   tag).  The value's record is the same while each of them is
   (value_encoder.c).  Read from the end, a container comes before its
   elements, which its children being the same keeps alive: no address
   in the log is dereferenced unless it is known to be live. */
#define CUT_RECORD_CACHE_BITS 8
#define CUT_RECORD_CACHE_SIZE (1 << CUT_RECORD_CACHE_BITS)
#define CUT_RECORD_MAX_LOG 2048       /* words */
typedef struct {
    uintptr_t *words;            /* blocks, each followed by its length */
    Py_ssize_t len;
    Py_ssize_t cap;
    PyObject **held;             /* scalar children and class names */
    Py_ssize_t nheld;
    Py_ssize_t held_cap;
} RecordLog;

typedef struct {
    const void *root;            /* the value; compared, never dereferenced
                                    unless it is the value encoded now */
    uint8_t cbor;
    uint8_t state;               /* value_encoder.c's CutRecordState */
    uint64_t verified;           /* as in ContainerCacheEntry */
    uint64_t refuted;
    RecordLog log;
    JsonBuffer record;
} CutRecordEntry;

/* Drop the log's contents from word `len` and held object `nheld` on,
   keeping its memory. */
static inline void
record_log_truncate(RecordLog *log, Py_ssize_t len, Py_ssize_t nheld)
{
    while (log->nheld > nheld) {
        Py_DECREF(log->held[--log->nheld]);
    }
    log->len = len;
}

static inline void
record_log_free(RecordLog *log)
{
    record_log_truncate(log, 0, 0);
    PyMem_RawFree(log->words);
    PyMem_RawFree(log->held);
    *log = (RecordLog){0};
}

/* The encoded ValueRecord of a float seen recently, by its bits and the
   encoding: a float a variable or a list keeps from step to step is
   converted to text once and then copied.  Two-way sets: with one way,
   two live values that share a slot evict each other at every step. */
#define FLOAT_RECORD_CACHE_SIZE 4096
#define FLOAT_RECORD_CACHE_WAYS 2
typedef struct {
    uint64_t bits;
    uint8_t len;                 /* 0: empty */
    uint8_t cbor;
    char record[54];             /* one 64-byte cache line in all */
} FloatRecordEntry;

typedef struct {
    int cbor;                    /* TRACE_FORMAT_CTFS: CBOR values */
    CtfsContainer *container;    /* trace.ct, or NULL */
    OutputStream stream;         /* trace.json, or trace.ct's events.log */
    long long events;

    PyObject *path_ids;          /* str -> int */
    PyObject *paths;             /* list of str, index = path id */
    PyObject *type_ids;          /* bytes (Type record JSON) -> int */
    PyObject *varname_ids;       /* str -> int */
    Py_ssize_t builtin_type_ids[BUILTIN_COUNT];
    Py_ssize_t function_count;

    long long steps;
    long long calls;
    long long returns;

    StructTypeEntry struct_types[STRUCT_TYPE_CACHE_SIZE];
    InlineLayoutEntry inline_layouts[INLINE_LAYOUT_CACHE_SIZE];
    NamedTypeEntry named_types[NAMED_TYPE_CACHE_SIZE];
    SlotLayoutEntry slot_layouts[SLOT_LAYOUT_CACHE_SIZE];
    OpaqueRecordEntry opaque_records[OPAQUE_RECORD_CACHE_SIZE];
    CutMarkerRecord cut_markers[2];
    StrCacheEntry strs[STR_CACHE_SIZE];
    FloatRecordEntry *floats;    /* FLOAT_RECORD_CACHE_SIZE, or NULL */
    ContainerCacheEntry *containers; /* CONTAINER_CACHE_SIZE, or NULL */
    CutRecordEntry *cut_records; /* CUT_RECORD_CACHE_SIZE, or NULL */
    RecordLog cut_log;           /* the log of the value being encoded */
    uint64_t record_stamps;      /* stamps given to container records */
    uint64_t encoding;           /* the current encoding: one value, or a
                                    group of them */
    int in_group;
    int group_met_container;     /* in the group so far */

    JsonBuffer text;             /* value_encoder.c's plain-text scratch */
    int value_open;              /* between tw_value_begin() and _end() */
    size_t value_event_start;    /* where that Value event begins (in
                                    JSON, with the separator before it) */
    size_t value_start;          /* and its record */
    JsonBuffer events_before_value;  /* events met while encoding it */

    /* Consecutive writes to one stream on one step become one event. */
    int pending_io_kind;         /* -1: none */
    JsonBuffer pending_io;       /* the text: a JSON string body, or plain */
} TraceWriter;

/* The name of the trace file of `format`. */
const char *tw_file_name(TraceFormat format);

/* Create the trace file in `folder`.  On failure return -1 with errno set. */
int tw_open(TraceWriter *w, const char *folder, TraceFormat format);
/* Finish the trace and close the file.  Return -1 if any write failed. */
int tw_close(TraceWriter *w, const TraceOrigin *origin);
/* Drop everything without writing (a forked child must not write). */
void tw_abandon(TraceWriter *w);
/* Copy the container records kept in the trace's output into their
   entries: the output's bytes are about to go. */
void tw_keep_container_records(TraceWriter *w);

Py_ssize_t tw_path_id(TraceWriter *w, PyObject *path);
Py_ssize_t tw_function_id(TraceWriter *w, Py_ssize_t path_id, int line, PyObject *name);
Py_ssize_t tw_varname_id(TraceWriter *w, PyObject *name);
Py_ssize_t tw_varname_id_cstr(TraceWriter *w, const char *name);
/* Intern the Type {kind, lang_type (UTF-8)}: with `fields`, a Struct of
   those field names (each of type "object", then a "…" marker field if
   `hidden`), else with no specific info. */
Py_ssize_t tw_type_id(TraceWriter *w, int kind, const char *lang_type, size_t len,
                      PyObject *const *fields, Py_ssize_t nfields, int hidden);
Py_ssize_t tw_intern_builtin_type(TraceWriter *w, BuiltinType which);

/* Inline: it runs for nearly every value. */
static inline Py_ssize_t
tw_builtin_type_id(TraceWriter *w, BuiltinType which)
{
    Py_ssize_t id = w->builtin_type_ids[which];
    return id >= 0 ? id : tw_intern_builtin_type(w, which);
}

/* The split-binary tags of the events (CTFS events.log). */
enum {
    TAG_STEP = 0, TAG_PATH = 1, TAG_VARIABLE_NAME = 2, TAG_TYPE = 4,
    TAG_VALUE = 5, TAG_FUNCTION = 6, TAG_CALL = 7, TAG_RETURN = 8, TAG_EVENT = 9,
};

/* Fill in the u32 length of the split-binary part that starts at `start`. */
static inline void
end_sized(JsonBuffer *b, size_t start)
{
    if (!b->failed) {
        ctfs_store_le(b->data + start - 4, b->len - start, 4);
    }
}

/* Steps and values are most of a trace: their usual case, a CTFS event
   written in one piece with no merged I/O text before it, is inline, the
   rest in these. */
void tw_step_event(TraceWriter *w, Py_ssize_t path_id, int line);
void tw_value_begin_event(TraceWriter *w, Py_ssize_t varname_id);
void tw_put_events_before_value(TraceWriter *w);

static inline int
tw_room_for_event(TraceWriter *w, size_t size)
{
    JsonBuffer *out = &w->stream.out;
    return w->cbor && w->pending_io_kind < 0 &&
           (out->len + size <= out->cap || jb_reserve(out, size) == 0);
}

static inline void
tw_step(TraceWriter *w, Py_ssize_t path_id, int line)
{
    if (!tw_room_for_event(w, 17)) {
        tw_step_event(w, path_id, line);
        return;
    }
    JsonBuffer *out = &w->stream.out;
    char *event = out->data + out->len;
    event[0] = TAG_STEP;
    ctfs_store_le(event + 1, (uint64_t)path_id, 8);
    ctfs_store_le(event + 9, (uint64_t)(int64_t)line, 8);
    out->len += 17;
    w->events++;
    w->steps++;
    stream_event_done(&w->stream);
}
/* `value` is an encoded ValueRecord. */
void tw_value(TraceWriter *w, Py_ssize_t varname_id, const char *value, size_t len);
/* Value events whose records are encoded in place, not copied: each
   tw_value_begin() is followed by the record, appended to
   tw_value_buffer(), then by tw_value_end(). */
static inline JsonBuffer *
tw_value_buffer(TraceWriter *w)
{
    return &w->stream.out;
}
static inline void
tw_value_begin(TraceWriter *w, Py_ssize_t varname_id)
{
    if (!tw_room_for_event(w, 13)) {
        tw_value_begin_event(w, varname_id);
        return;
    }
    /* Tag, variable id, and room for the record's length. */
    JsonBuffer *out = &w->stream.out;
    w->value_event_start = out->len;
    char *event = out->data + out->len;
    event[0] = TAG_VALUE;
    ctfs_store_le(event + 1, (uint64_t)varname_id, 8);
    out->len += 13;
    w->value_start = out->len;
    w->events++;
    w->value_open = 1;
}

/* End the Value event: from w->value_event_start on, the buffer then
   holds it whole, until tw_value_done() lets the buffer be handed over. */
static inline void
tw_value_finish(TraceWriter *w)
{
    JsonBuffer *out = &w->stream.out;
    w->value_open = 0;
    if (w->cbor) {
        end_sized(out, w->value_start);
    }
    else {
        JB_LITERAL(out, "}}");
    }
    if (w->events_before_value.len > 0) {
        tw_put_events_before_value(w);
    }
}

static inline void
tw_value_done(TraceWriter *w)
{
    stream_event_done(&w->stream);
}

static inline void
tw_value_end(TraceWriter *w)
{
    tw_value_finish(w);
    tw_value_done(w);
}

/* Write again a short event written earlier (its bytes as they were),
   of `len` bytes, read from a source of TW_SHORT_EVENT_MAX: a copy of
   constant size is a few moves, where a variable one is a slow call.  0,
   with nothing written, where merged I/O text must go first. */
#define TW_SHORT_EVENT_MAX 55
static inline int
tw_copy_short_event(TraceWriter *w, const char *event, size_t len)
{
    JsonBuffer *out = &w->stream.out;
    if (w->pending_io_kind >= 0 ||
        (out->len + TW_SHORT_EVENT_MAX > out->cap && jb_reserve(out, TW_SHORT_EVENT_MAX) < 0))
    {
        return 0;
    }
    memcpy(out->data + out->len, event, TW_SHORT_EVENT_MAX);
    out->len += len;
    w->events++;
    stream_event_done(&w->stream);
    return 1;
}

/* args[i] is an encoded ValueRecord of arg_value_lens[i] bytes. */
void tw_call(TraceWriter *w, Py_ssize_t function_id, Py_ssize_t nargs,
             const Py_ssize_t *varname_ids, const char *values,
             const size_t *value_offsets);
void tw_return(TraceWriter *w, const char *value, size_t len);
void tw_io(TraceWriter *w, int kind, PyObject *text);
/* `content` is UTF-8 text. */
void tw_event(TraceWriter *w, int kind, const char *metadata, const char *content, size_t len);

#endif
