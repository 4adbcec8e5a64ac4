/* Streaming writer of CodeTracer's trace.json. */

#include "trace_writer.h"

#include <errno.h>

static void flush_pending_io(TraceWriter *w);

/* Start a new array element.  Any merged I/O text goes out first so that
   it stays on the step that wrote it. */
static void
begin_event(TraceWriter *w)
{
    if (w->pending_io_kind >= 0) {
        flush_pending_io(w);
    }
    if (w->events++) {
        JB_LITERAL(&w->stream.out, ",\n");
    }
}

static void
end_event(TraceWriter *w)
{
    stream_event_done(&w->stream);
}

int
tw_open(TraceWriter *w, const char *folder)
{
    memset(w, 0, sizeof(*w));
    w->pending_io_kind = -1;
    for (int i = 0; i < BUILTIN_COUNT; i++) {
        w->builtin_type_ids[i] = -1;
    }
    if (stream_open(&w->stream, folder, "trace.json") < 0) {
        return -1;
    }
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
    JB_LITERAL(&w->stream.out, "[\n");
    return 0;
}

static void
clear_tables(TraceWriter *w)
{
    for (int i = 0; i < STRUCT_TYPE_CACHE_SIZE; i++) {
        StructTypeEntry *entry = &w->struct_types[i];
        for (Py_ssize_t f = 0; entry->type != NULL && f < entry->count; f++) {
            Py_DECREF(entry->names[f]);
        }
        Py_CLEAR(entry->type);
    }
    for (int i = 0; i < STR_CACHE_SIZE; i++) {
        Py_CLEAR(w->strs[i].str);
        jb_free(&w->strs[i].record);
    }
    Py_CLEAR(w->path_ids);
    Py_CLEAR(w->paths);
    Py_CLEAR(w->type_ids);
    Py_CLEAR(w->varname_ids);
    jb_free(&w->pending_io);
}

int
tw_close(TraceWriter *w)
{
    if (w->pending_io_kind >= 0) {
        flush_pending_io(w);
    }
    JB_LITERAL(&w->stream.out, "\n]\n");
    clear_tables(w);
    return stream_close(&w->stream);
}

void
tw_abandon(TraceWriter *w)
{
    stream_abandon(&w->stream);
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
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Path\":");
    jb_unicode_string(&w->stream.out, path, PY_SSIZE_T_MAX);
    JB_LITERAL(&w->stream.out, "}");
    end_event(w);
    return id;
}

Py_ssize_t
tw_function_id(TraceWriter *w, Py_ssize_t path_id, int line, PyObject *name)
{
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Function\":{\"path_id\":");
    jb_int(&w->stream.out, path_id);
    JB_LITERAL(&w->stream.out, ",\"line\":");
    jb_int(&w->stream.out, line);
    JB_LITERAL(&w->stream.out, ",\"name\":");
    jb_unicode_string(&w->stream.out, name, PY_SSIZE_T_MAX);
    JB_LITERAL(&w->stream.out, "}}");
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
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"VariableName\":");
    jb_unicode_string(&w->stream.out, name, PY_SSIZE_T_MAX);
    JB_LITERAL(&w->stream.out, "}");
    end_event(w);
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

Py_ssize_t
tw_type_id(TraceWriter *w, const char *record, size_t len)
{
    PyObject *key = PyBytes_FromStringAndSize(record, (Py_ssize_t)len);
    if (key == NULL) {
        return -1;
    }
    Py_ssize_t id = intern(w->type_ids, key);
    Py_DECREF(key);
    if (id >= -1) {
        return id;
    }
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Type\":");
    jb_put(&w->stream.out, record, len);
    JB_LITERAL(&w->stream.out, "}");
    end_event(w);
    return -(id + 2);
}

Py_ssize_t
tw_simple_type_id(TraceWriter *w, int kind, const char *lang_type, size_t len)
{
    JsonBuffer record = {0};
    JB_LITERAL(&record, "{\"kind\":");
    jb_int(&record, kind);
    JB_LITERAL(&record, ",\"lang_type\":");
    jb_utf8_string(&record, lang_type, len);
    JB_LITERAL(&record, ",\"specific_info\":{\"kind\":\"None\"}}");
    Py_ssize_t id = record.failed ? -1 : tw_type_id(w, record.data, record.len);
    jb_free(&record);
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
tw_builtin_type_id(TraceWriter *w, BuiltinType which)
{
    Py_ssize_t id = w->builtin_type_ids[which];
    if (id < 0) {
        const char *name = BUILTIN_TYPES[which].lang_type;
        id = tw_simple_type_id(w, BUILTIN_TYPES[which].kind, name, strlen(name));
        w->builtin_type_ids[which] = id;
    }
    return id;
}

void
tw_step(TraceWriter *w, Py_ssize_t path_id, int line)
{
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Step\":{\"path_id\":");
    jb_int(&w->stream.out, path_id);
    JB_LITERAL(&w->stream.out, ",\"line\":");
    jb_int(&w->stream.out, line);
    JB_LITERAL(&w->stream.out, "}}");
    end_event(w);
    w->steps++;
}

void
tw_value(TraceWriter *w, Py_ssize_t varname_id, const char *value, size_t len)
{
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Value\":{\"variable_id\":");
    jb_int(&w->stream.out, varname_id);
    JB_LITERAL(&w->stream.out, ",\"value\":");
    jb_put(&w->stream.out, value, len);
    JB_LITERAL(&w->stream.out, "}}");
    end_event(w);
}

void
tw_call(TraceWriter *w, Py_ssize_t function_id, Py_ssize_t nargs,
        const Py_ssize_t *varname_ids, const char *values,
        const size_t *value_offsets)
{
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Call\":{\"function_id\":");
    jb_int(&w->stream.out, function_id);
    JB_LITERAL(&w->stream.out, ",\"args\":[");
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (i) {
            jb_putc(&w->stream.out, ',');
        }
        JB_LITERAL(&w->stream.out, "{\"variable_id\":");
        jb_int(&w->stream.out, varname_ids[i]);
        JB_LITERAL(&w->stream.out, ",\"value\":");
        jb_put(&w->stream.out, values + value_offsets[i],
               value_offsets[i + 1] - value_offsets[i]);
        jb_putc(&w->stream.out, '}');
    }
    JB_LITERAL(&w->stream.out, "]}}");
    end_event(w);
    w->calls++;
}

void
tw_return(TraceWriter *w, const char *value, size_t len)
{
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Return\":{\"return_value\":");
    jb_put(&w->stream.out, value, len);
    JB_LITERAL(&w->stream.out, "}}");
    end_event(w);
    w->returns++;
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
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Event\":{\"kind\":");
    jb_int(&w->stream.out, kind);
    JB_LITERAL(&w->stream.out, ",\"metadata\":\"");
    const char *name = stream_name(kind);
    jb_put(&w->stream.out, name, strlen(name));
    JB_LITERAL(&w->stream.out, "\",\"content\":\"");
    jb_put(&w->stream.out, w->pending_io.data, w->pending_io.len);
    JB_LITERAL(&w->stream.out, "\"}}");
    w->pending_io.len = 0;
    end_event(w);
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
    begin_event(w);
    JB_LITERAL(&w->stream.out, "{\"Event\":{\"kind\":");
    jb_int(&w->stream.out, kind);
    JB_LITERAL(&w->stream.out, ",\"metadata\":");
    jb_utf8_string(&w->stream.out, metadata, strlen(metadata));
    JB_LITERAL(&w->stream.out, ",\"content\":\"");
    jb_put(&w->stream.out, content, len);
    JB_LITERAL(&w->stream.out, "\"}}");
    end_event(w);
}
