/* Streaming writer of a CodeTracer trace: trace.json or trace.ct. */

#include "trace_writer.h"

#include "cbor.h"

#include <errno.h>
#include <time.h>
#include <sys/random.h>

static void flush_pending_io(TraceWriter *w);

static void
put_le(JsonBuffer *b, uint64_t v, int n)
{
    char bytes[8];
    ctfs_store_le(bytes, v, n);
    jb_put(b, bytes, (size_t)n);
}

/* Split-binary text: u32 length, then the UTF-8 bytes. */
static void
put_sized(JsonBuffer *b, const char *data, size_t len)
{
    put_le(b, len, 4);
    jb_put(b, data, len);
}

/* Begin a u32-length-prefixed part; end_sized() fills in its length. */
static size_t
begin_sized(JsonBuffer *b)
{
    put_le(b, 0, 4);
    return b->len;
}

/* A str as split-binary text. */
static void
put_sized_unicode(JsonBuffer *b, PyObject *str)
{
    size_t start = begin_sized(b);
    int plain = b->plain;
    b->plain = 1;
    jb_unicode_body(b, str, PY_SSIZE_T_MAX);
    b->plain = plain;
    end_sized(b, start);
}

/* Start a new event in `out`: a JSON array element, or a split-binary
   tag.  Any merged I/O text goes out first so that it stays on the step
   that wrote it. */
static void
begin_event_in(TraceWriter *w, JsonBuffer *out, int tag)
{
    if (w->pending_io_kind >= 0) {
        flush_pending_io(w);
    }
    if (w->cbor) {
        jb_putc(out, (char)tag);
        w->events++;
    }
    else if (w->events++) {
        JB_LITERAL(out, ",\n");
    }
}

/* ... after the trace's events. */
static void
begin_event(TraceWriter *w, int tag)
{
    begin_event_in(w, &w->stream.out, tag);
}

static void
end_event(TraceWriter *w)
{
    stream_event_done(&w->stream);
}

const char *
tw_file_name(TraceFormat format)
{
    return format == TRACE_FORMAT_CTFS ? "trace.ct" : "trace.json";
}

static int
open_container(TraceWriter *w, const char *folder)
{
    char path[4200];
    if (snprintf(path, sizeof(path), "%s/%s", folder, tw_file_name(TRACE_FORMAT_CTFS))
        >= (int)sizeof(path))
    {
        errno = ENAMETOOLONG;
        return -1;
    }
    w->container = PyMem_RawCalloc(1, sizeof(CtfsContainer));
    if (w->container == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (ctfs_create(w->container, path) < 0) {
        PyMem_RawFree(w->container);
        w->container = NULL;
        return -1;
    }
    stream_open_chunked(&w->stream, w->container,
                        ctfs_add_file(w->container, "events.log"));
    return 0;
}

void
tw_keep_container_records(TraceWriter *w)
{
    const JsonBuffer *out = &w->stream.out;
    for (int i = 0; w->containers != NULL && i < CONTAINER_CACHE_SIZE; i++) {
        ContainerCacheEntry *entry = &w->containers[i];
        if (entry->container == NULL || !entry->in_output) {
            continue;
        }
        entry->in_output = 0;
        /* Found stale since it was last found current: not worth a copy,
           unless its children are being copied from it. */
        if (entry->refuted > entry->verified && !entry->pinned) {
            container_entry_clear(entry);
            continue;
        }
        entry->record.len = 0;
        jb_put(&entry->record, out->data + entry->record_at, entry->record_len);
        if (entry->record.failed) {
            entry->record.failed = 0;
            container_entry_clear(entry);
        }
    }
}

static void
keep_container_records(void *w)
{
    tw_keep_container_records(w);
}

int
tw_open(TraceWriter *w, const char *folder, TraceFormat format)
{
    memset(w, 0, sizeof(*w));
    w->pending_io_kind = -1;
    for (int i = 0; i < BUILTIN_COUNT; i++) {
        w->builtin_type_ids[i] = -1;
    }
    w->cbor = format == TRACE_FORMAT_CTFS;
    w->pending_io.plain = w->cbor;
    int opened = w->cbor ? open_container(w, folder)
                         : stream_open(&w->stream, folder, tw_file_name(format), 0);
    if (opened < 0) {
        return -1;
    }
    w->stream.before_handover = keep_container_records;
    w->stream.handover_arg = w;
    w->path_ids = PyDict_New();
    w->paths = PyList_New(0);
    w->type_ids = PyDict_New();
    w->varname_ids = PyDict_New();
    if (!w->path_ids || !w->paths || !w->type_ids || !w->varname_ids) {
        PyErr_Clear();
        tw_abandon(w);
        errno = ENOMEM;
        return -1;
    }
    if (!w->cbor) {
        JB_LITERAL(&w->stream.out, "[\n");
    }
    return 0;
}

static void
clear_tables(TraceWriter *w)
{
    for (int i = 0; i < STRUCT_TYPE_CACHE_SIZE; i++) {
        struct_type_clear(&w->struct_types[i]);
    }
    for (int i = 0; i < INLINE_LAYOUT_CACHE_SIZE; i++) {
        class_key_clear(&w->inline_layouts[i].cls);
    }
    for (int i = 0; i < NAMED_TYPE_CACHE_SIZE; i++) {
        class_key_clear(&w->named_types[i].cls);
    }
    for (int i = 0; i < OPAQUE_RECORD_CACHE_SIZE; i++) {
        class_key_clear(&w->opaque_records[i].cls);
        jb_free(&w->opaque_records[i].record);
    }
    for (int i = 0; i < STR_CACHE_SIZE; i++) {
        Py_CLEAR(w->strs[i].str);
        jb_free(&w->strs[i].record);
    }
    for (int i = 0; w->containers != NULL && i < CONTAINER_CACHE_SIZE; i++) {
        ContainerCacheEntry *entry = &w->containers[i];
        container_entry_clear(entry);
        PyMem_RawFree(entry->children);
        class_key_clear(&entry->cls);
        jb_free(&entry->record);
    }
    PyMem_RawFree(w->containers);
    w->containers = NULL;
    for (int i = 0; w->cut_records != NULL && i < CUT_RECORD_CACHE_SIZE; i++) {
        record_log_free(&w->cut_records[i].log);
        jb_free(&w->cut_records[i].record);
    }
    PyMem_RawFree(w->cut_records);
    w->cut_records = NULL;
    record_log_free(&w->cut_log);
    for (int i = 0; i < SLOT_LAYOUT_CACHE_SIZE; i++) {
        SlotLayoutEntry *entry = &w->slot_layouts[i];
        slot_layout_clear(entry);
        PyMem_RawFree(entry->fields);
        entry->fields = NULL;
        entry->type = NULL;
    }
    Py_CLEAR(w->path_ids);
    Py_CLEAR(w->paths);
    Py_CLEAR(w->type_ids);
    Py_CLEAR(w->varname_ids);
    jb_free(&w->pending_io);
    jb_free(&w->text);
    jb_free(&w->events_before_value);
    PyMem_RawFree(w->floats);
    w->floats = NULL;
}

static void
put_varint(JsonBuffer *b, uint64_t v)
{
    while (v >= 0x80) {
        jb_putc(b, (char)(0x80 | (v & 0x7f)));
        v >>= 7;
    }
    jb_putc(b, (char)v);
}

static void
put_meta_text(JsonBuffer *b, PyObject *str)
{
    JsonBuffer text = {.plain = 1};
    if (str != NULL && PyUnicode_Check(str)) {
        jb_unicode_body(&text, str, PY_SSIZE_T_MAX);
    }
    put_varint(b, text.len);
    jb_put(b, text.data, text.len);
    b->failed |= text.failed;
    jb_free(&text);
}

/* A UUIDv7: 48 bits of Unix time in milliseconds, version 7, variant
   0b10, the rest random; canonical lower-case text. */
static void
put_uuid_v7(JsonBuffer *b)
{
    unsigned char bytes[16] = {0};
    if (getrandom(bytes, sizeof(bytes), 0) < 0) {
        uint64_t mix = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)clock();
        memcpy(bytes + 8, &mix, 8);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    for (int i = 0; i < 6; i++) {
        bytes[i] = (unsigned char)(ms >> (40 - 8 * i));
    }
    bytes[6] = (unsigned char)(0x70 | (bytes[6] & 0x0f));
    bytes[8] = (unsigned char)(0x80 | (bytes[8] & 0x3f));
    static const char HEX[] = "0123456789abcdef";
    char text[36];
    int at = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            text[at++] = '-';
        }
        text[at++] = HEX[bytes[i] >> 4];
        text[at++] = HEX[bytes[i] & 15];
    }
    put_varint(b, sizeof(text));
    jb_put(b, text, sizeof(text));
}

/* CTFS's meta.dat, version 3 with no optional parts (flags 0). */
static void
put_meta_dat(JsonBuffer *b, const TraceOrigin *origin, PyObject *paths)
{
    JB_LITERAL(b, "CTMD\x03\x00\x00\x00");
    put_uuid_v7(b);
    put_meta_text(b, origin->program);
    Py_ssize_t nargs = PyList_Check(origin->args) ? PyList_GET_SIZE(origin->args) : 0;
    put_varint(b, (uint64_t)nargs);
    for (Py_ssize_t i = 0; i < nargs; i++) {
        put_meta_text(b, PyList_GET_ITEM(origin->args, i));
    }
    put_meta_text(b, origin->workdir);
    put_varint(b, strlen("python-ct"));
    JB_LITERAL(b, "python-ct");
    put_varint(b, (uint64_t)PyList_GET_SIZE(paths));
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(paths); i++) {
        put_meta_text(b, PyList_GET_ITEM(paths, i));
    }
}

/* Add a whole file to the container; return 0 or an errno. */
static int
add_container_file(CtfsContainer *c, const char *name, const JsonBuffer *content)
{
    if (content->failed) {
        return ENOMEM;
    }
    return ctfs_append(c, ctfs_add_file(c, name), content->data, content->len);
}

/* events.log is complete: add events.fmt and meta.dat, and close. */
static int
close_container(TraceWriter *w, const TraceOrigin *origin)
{
    JsonBuffer meta = {0};
    put_meta_dat(&meta, origin, w->paths);
    JsonBuffer format = {0};
    JB_LITERAL(&format, "split-binary");
    int err = add_container_file(w->container, "events.fmt", &format);
    if (!err) {
        err = add_container_file(w->container, "meta.dat", &meta);
    }
    jb_free(&format);
    jb_free(&meta);
    int close_err = ctfs_close(w->container);
    PyMem_RawFree(w->container);
    w->container = NULL;
    return err ? err : close_err;
}

int
tw_close(TraceWriter *w, const TraceOrigin *origin)
{
    if (w->pending_io_kind >= 0) {
        flush_pending_io(w);
    }
    if (!w->cbor) {
        JB_LITERAL(&w->stream.out, "\n]\n");
    }
    /* The records go with the caches: none is worth keeping. */
    w->stream.before_handover = NULL;
    int res = stream_close(&w->stream);
    if (w->container != NULL) {
        int err = close_container(w, origin);
        if (err && res == 0) {
            w->stream.io_error = err;
            res = -1;
        }
    }
    clear_tables(w);
    return res;
}

void
tw_abandon(TraceWriter *w)
{
    stream_abandon(&w->stream);
    if (w->container != NULL) {
        ctfs_abandon(w->container);
        PyMem_RawFree(w->container);
        w->container = NULL;
    }
    clear_tables(w);
}

/* Look `key` up in `table`; if absent, give it the next id and return
   -(id + 2) so the caller knows to emit the interning event. */
static Py_ssize_t
intern(PyObject *table, PyObject *key)
{
    PyObject *found = PyDict_GetItemWithError(table, key);
    if (found != NULL) {
        return PyLong_AsSsize_t(found);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    Py_ssize_t id = PyDict_GET_SIZE(table);
    PyObject *id_obj = PyLong_FromSsize_t(id);
    if (id_obj == NULL || PyDict_SetItem(table, key, id_obj) < 0) {
        Py_XDECREF(id_obj);
        return -1;
    }
    Py_DECREF(id_obj);
    return -(id + 2);
}

/* An interning event whose body is one text: Path or VariableName. */
static void
put_text_event(TraceWriter *w, int tag, const char *variant, PyObject *text)
{
    JsonBuffer *out = &w->stream.out;
    begin_event(w, tag);
    if (w->cbor) {
        put_sized_unicode(out, text);
    }
    else {
        jb_putc(out, '{');
        jb_utf8_string(out, variant, strlen(variant));
        jb_putc(out, ':');
        jb_unicode_string(out, text, PY_SSIZE_T_MAX);
        jb_putc(out, '}');
    }
    end_event(w);
}

Py_ssize_t
tw_path_id(TraceWriter *w, PyObject *path)
{
    Py_ssize_t id = intern(w->path_ids, path);
    if (id >= -1) {
        return id;
    }
    id = -(id + 2);
    if (PyList_Append(w->paths, path) < 0) {
        return -1;
    }
    put_text_event(w, TAG_PATH, "Path", path);
    return id;
}

Py_ssize_t
tw_function_id(TraceWriter *w, Py_ssize_t path_id, int line, PyObject *name)
{
    JsonBuffer *out = &w->stream.out;
    begin_event(w, TAG_FUNCTION);
    if (w->cbor) {
        put_le(out, (uint64_t)path_id, 8);
        put_le(out, (uint64_t)(int64_t)line, 8);
        put_sized_unicode(out, name);
    }
    else {
        JB_LITERAL(out, "{\"Function\":{\"path_id\":");
        jb_int(out, path_id);
        JB_LITERAL(out, ",\"line\":");
        jb_int(out, line);
        JB_LITERAL(out, ",\"name\":");
        jb_unicode_string(out, name, PY_SSIZE_T_MAX);
        JB_LITERAL(out, "}}");
    }
    end_event(w);
    return w->function_count++;
}

Py_ssize_t
tw_varname_id(TraceWriter *w, PyObject *name)
{
    Py_ssize_t id = intern(w->varname_ids, name);
    if (id >= -1) {
        return id;
    }
    put_text_event(w, TAG_VARIABLE_NAME, "VariableName", name);
    return -(id + 2);
}

Py_ssize_t
tw_varname_id_cstr(TraceWriter *w, const char *name)
{
    PyObject *str = PyUnicode_FromString(name);
    if (str == NULL) {
        return -1;
    }
    Py_ssize_t id = tw_varname_id(w, str);
    Py_DECREF(str);
    return id;
}

/* The Type record in JSON, or in CBOR. */
static void
put_type_record(JsonBuffer *b, int cbor, int kind, const char *lang_type, size_t len,
                PyObject *const *fields, Py_ssize_t nfields, int hidden,
                Py_ssize_t field_type_id, Py_ssize_t marker_type_id)
{
    if (cbor) {
        cbor_head(b, CBOR_MAP, 3);
        cbor_text(b, "kind", 4);
        cbor_int(b, kind);
        cbor_text(b, "lang_type", 9);
        cbor_text(b, lang_type, len);
        cbor_text(b, "specific_info", 13);
        if (fields == NULL) {
            cbor_head(b, CBOR_MAP, 1);
            cbor_text(b, "kind", 4);
            cbor_text(b, "None", 4);
            return;
        }
        cbor_head(b, CBOR_MAP, 2);
        cbor_text(b, "kind", 4);
        cbor_text(b, "Struct", 6);
        cbor_text(b, "fields", 6);
        cbor_head(b, CBOR_ARRAY, (uint64_t)(nfields + (hidden != 0)));
        for (Py_ssize_t i = 0; i < nfields + (hidden != 0); i++) {
            cbor_head(b, CBOR_MAP, 2);
            cbor_text(b, "name", 4);
            if (i < nfields) {
                cbor_unicode(b, fields[i], PY_SSIZE_T_MAX);
            }
            else {
                cbor_text(b, "\xe2\x80\xa6", 3);
            }
            cbor_text(b, "type_id", 7);
            cbor_int(b, i < nfields ? field_type_id : marker_type_id);
        }
        return;
    }
    JB_LITERAL(b, "{\"kind\":");
    jb_int(b, kind);
    JB_LITERAL(b, ",\"lang_type\":");
    jb_utf8_string(b, lang_type, len);
    if (fields == NULL) {
        JB_LITERAL(b, ",\"specific_info\":{\"kind\":\"None\"}}");
        return;
    }
    JB_LITERAL(b, ",\"specific_info\":{\"kind\":\"Struct\",\"fields\":[");
    for (Py_ssize_t i = 0; i < nfields; i++) {
        if (i) {
            jb_putc(b, ',');
        }
        JB_LITERAL(b, "{\"name\":");
        jb_unicode_string(b, fields[i], PY_SSIZE_T_MAX);
        JB_LITERAL(b, ",\"type_id\":");
        jb_int(b, field_type_id);
        jb_putc(b, '}');
    }
    if (hidden) {
        JB_LITERAL(b, ",{\"name\":\"\xe2\x80\xa6\",\"type_id\":");
        jb_int(b, marker_type_id);
        jb_putc(b, '}');
    }
    JB_LITERAL(b, "]}}");
}

Py_ssize_t
tw_type_id(TraceWriter *w, int kind, const char *lang_type, size_t len,
           PyObject *const *fields, Py_ssize_t nfields, int hidden)
{
    Py_ssize_t field_type_id = 0, marker_type_id = 0;
    if (fields != NULL) {
        field_type_id = tw_builtin_type_id(w, BUILTIN_OBJECT);
        marker_type_id = tw_builtin_type_id(w, BUILTIN_MARKER);
    }
    /* The JSON record is the key in either format. */
    JsonBuffer json = {0};
    put_type_record(&json, 0, kind, lang_type, len, fields, nfields, hidden,
                    field_type_id, marker_type_id);
    PyObject *key = json.failed ? NULL
        : PyBytes_FromStringAndSize(json.data, (Py_ssize_t)json.len);
    Py_ssize_t id = key != NULL ? intern(w->type_ids, key) : -1;
    Py_XDECREF(key);
    if (id < -1) {
        id = -(id + 2);
        /* While a Value's record is encoded in place, the Type goes into
           the events that go before it. */
        JsonBuffer *out = w->value_open ? &w->events_before_value : &w->stream.out;
        begin_event_in(w, out, TAG_TYPE);
        if (w->cbor) {
            size_t start = begin_sized(out);
            put_type_record(out, 1, kind, lang_type, len, fields, nfields, hidden,
                            field_type_id, marker_type_id);
            end_sized(out, start);
        }
        else {
            JB_LITERAL(out, "{\"Type\":");
            jb_put(out, json.data, json.len);
            JB_LITERAL(out, "}");
        }
        if (w->value_open) {
            /* Counted now, handed over after the Value event, which is
               half written in the stream's buffer. */
            w->stream.buffered_records++;
        }
        else {
            end_event(w);
        }
    }
    jb_free(&json);
    return id;
}

static const struct {
    int kind;
    const char *lang_type;
} BUILTIN_TYPES[BUILTIN_COUNT] = {
    [BUILTIN_NONE] = {TYPE_KIND_NONE, "None"},
    [BUILTIN_BOOL] = {TYPE_KIND_BOOL, "bool"},
    [BUILTIN_INT] = {TYPE_KIND_INT, "int"},
    [BUILTIN_FLOAT] = {TYPE_KIND_FLOAT, "float"},
    [BUILTIN_STR] = {TYPE_KIND_STRING, "str"},
    [BUILTIN_BYTES] = {TYPE_KIND_RAW, "bytes"},
    [BUILTIN_LIST] = {TYPE_KIND_SEQ, "list"},
    [BUILTIN_TUPLE] = {TYPE_KIND_TUPLE, "tuple"},
    [BUILTIN_DICT] = {TYPE_KIND_SEQ, "dict"},
    [BUILTIN_SET] = {TYPE_KIND_SEQ, "set"},
    [BUILTIN_FROZENSET] = {TYPE_KIND_SEQ, "frozenset"},
    [BUILTIN_FUNCTION] = {TYPE_KIND_FUNCTION, "function"},
    [BUILTIN_CLASS] = {TYPE_KIND_RAW, "type"},
    [BUILTIN_MODULE] = {TYPE_KIND_RAW, "module"},
    [BUILTIN_OBJECT] = {TYPE_KIND_RAW, "object"},
    [BUILTIN_MARKER] = {TYPE_KIND_RAW, "python-ct marker"},
};

Py_ssize_t
tw_intern_builtin_type(TraceWriter *w, BuiltinType which)
{
    const char *name = BUILTIN_TYPES[which].lang_type;
    Py_ssize_t id = tw_type_id(w, BUILTIN_TYPES[which].kind, name, strlen(name), NULL, 0, 0);
    w->builtin_type_ids[which] = id;
    return id;
}

void
tw_step_event(TraceWriter *w, Py_ssize_t path_id, int line)
{
    JsonBuffer *out = &w->stream.out;
    begin_event(w, TAG_STEP);
    if (w->cbor) {
        put_le(out, (uint64_t)path_id, 8);
        put_le(out, (uint64_t)(int64_t)line, 8);
    }
    else {
        JB_LITERAL(out, "{\"Step\":{\"path_id\":");
        jb_int(out, path_id);
        JB_LITERAL(out, ",\"line\":");
        jb_int(out, line);
        JB_LITERAL(out, "}}");
    }
    end_event(w);
    w->steps++;
}

void
tw_value_begin_event(TraceWriter *w, Py_ssize_t varname_id)
{
    JsonBuffer *out = &w->stream.out;
    w->value_event_start = out->len;
    begin_event(w, TAG_VALUE);
    if (w->cbor) {
        put_le(out, (uint64_t)varname_id, 8);
        w->value_start = begin_sized(out);
    }
    else {
        JB_LITERAL(out, "{\"Value\":{\"variable_id\":");
        jb_int(out, varname_id);
        JB_LITERAL(out, ",\"value\":");
    }
    w->value_open = 1;
}

/* Move the events the record needed (Types it met first) before its
   Value event, which refers to them. */
void
tw_put_events_before_value(TraceWriter *w)
{
    JsonBuffer *out = &w->stream.out, *before = &w->events_before_value;
    size_t event_len = out->len - w->value_event_start;
    if (out->failed || jb_reserve(out, before->len) < 0) {
        before->len = 0;
        return;
    }
    tw_keep_container_records(w);     /* before their bytes move */
    char *event = out->data + w->value_event_start;
    memmove(event + before->len, event, event_len);
    memcpy(event, before->data, before->len);
    out->len += before->len;
    w->value_event_start += before->len;
    out->failed |= before->failed;
    before->len = 0;
    before->failed = 0;
}

void
tw_value(TraceWriter *w, Py_ssize_t varname_id, const char *value, size_t len)
{
    tw_value_begin(w, varname_id);
    jb_put(&w->stream.out, value, len);
    tw_value_end(w);
}

void
tw_call(TraceWriter *w, Py_ssize_t function_id, Py_ssize_t nargs,
        const Py_ssize_t *varname_ids, const char *values,
        const size_t *value_offsets)
{
    JsonBuffer *out = &w->stream.out;
    begin_event(w, TAG_CALL);
    if (w->cbor) {
        put_le(out, (uint64_t)function_id, 8);
        size_t start = begin_sized(out);
        cbor_head(out, CBOR_ARRAY, (uint64_t)nargs);
        for (Py_ssize_t i = 0; i < nargs; i++) {
            /* {"variable_id": id, "value": record} */
            CBOR_KEY_AND_UINT(out, "\xa2\x6bvariable_id", (uint64_t)varname_ids[i]);
            JB_LITERAL(out, "\x65value");
            jb_put(out, values + value_offsets[i], value_offsets[i + 1] - value_offsets[i]);
        }
        end_sized(out, start);
    }
    else {
        JB_LITERAL(out, "{\"Call\":{\"function_id\":");
        jb_int(out, function_id);
        JB_LITERAL(out, ",\"args\":[");
        for (Py_ssize_t i = 0; i < nargs; i++) {
            if (i) {
                jb_putc(out, ',');
            }
            JB_LITERAL(out, "{\"variable_id\":");
            jb_int(out, varname_ids[i]);
            JB_LITERAL(out, ",\"value\":");
            jb_put(out, values + value_offsets[i], value_offsets[i + 1] - value_offsets[i]);
            jb_putc(out, '}');
        }
        JB_LITERAL(out, "]}}");
    }
    end_event(w);
    w->calls++;
}

void
tw_return(TraceWriter *w, const char *value, size_t len)
{
    JsonBuffer *out = &w->stream.out;
    begin_event(w, TAG_RETURN);
    if (w->cbor) {
        put_sized(out, value, len);
    }
    else {
        JB_LITERAL(out, "{\"Return\":{\"return_value\":");
        jb_put(out, value, len);
        JB_LITERAL(out, "}}");
    }
    end_event(w);
    w->returns++;
}

/* An Event; `content` is a JSON string body, or plain text in CTFS. */
static void
put_event(TraceWriter *w, int kind, const char *metadata, const char *content, size_t len)
{
    JsonBuffer *out = &w->stream.out;
    begin_event(w, TAG_EVENT);
    if (w->cbor) {
        jb_putc(out, (char)kind);
        put_sized(out, metadata, strlen(metadata));
        put_sized(out, content, len);
    }
    else {
        JB_LITERAL(out, "{\"Event\":{\"kind\":");
        jb_int(out, kind);
        JB_LITERAL(out, ",\"metadata\":");
        jb_utf8_string(out, metadata, strlen(metadata));
        JB_LITERAL(out, ",\"content\":\"");
        jb_put(out, content, len);
        JB_LITERAL(out, "\"}}");
    }
    end_event(w);
}

static const char *
stream_name(int kind)
{
    switch (kind) {
    case EVENT_KIND_WRITE:
        return "stdout";
    case EVENT_KIND_READ:
        return "stdin";
    }
    return "stderr";
}

static void
flush_pending_io(TraceWriter *w)
{
    int kind = w->pending_io_kind;
    w->pending_io_kind = -1;
    put_event(w, kind, stream_name(kind), w->pending_io.data, w->pending_io.len);
    w->pending_io.len = 0;
}

void
tw_io(TraceWriter *w, int kind, PyObject *text)
{
    if (w->pending_io_kind >= 0 && w->pending_io_kind != kind) {
        flush_pending_io(w);
    }
    w->pending_io_kind = kind;
    jb_unicode_body(&w->pending_io, text, PY_SSIZE_T_MAX);
}

void
tw_event(TraceWriter *w, int kind, const char *metadata, const char *content, size_t len)
{
    if (w->cbor) {
        put_event(w, kind, metadata, content, len);
        return;
    }
    JsonBuffer body = {0};
    jb_utf8_body(&body, content, len);
    put_event(w, kind, metadata, body.data, body.len);
    jb_free(&body);
}
