/* Encoding of Python objects as CodeTracer ValueRecords, in JSON or CBOR.
 *
 * The encoder reads object structure in C and never runs user code: no
 * repr(), no attribute lookup through descriptors or __getattr__, no
 * comparison or hashing of user objects.  Containers are cut at a length
 * limit, a nesting limit and a total size, with an explicit marker element,
 * and cycles are shown as a marker instead of being followed.
 *
 * The total size bounds what every step costs: the trace format has no
 * carry-over, so each step lists every local's whole value again.  A
 * container shares its part of the size among its elements (one value to
 * each scalar), so a cut falls evenly on the deepest levels, not on the
 * last elements. */

#ifndef CTRECORD_VALUE_ENCODER_H
#define CTRECORD_VALUE_ENCODER_H

#include "trace_writer.h"
#include "scalar_records.h"

/* Limits on what one value may expand to. */
#define VALUE_MAX_DEPTH 6
#define VALUE_MAX_ITEMS 100
#define VALUE_MAX_STRING 4096
/* Values within one value: CODETRACER_VALUE_NODES, by default */
#define VALUE_DEFAULT_NODES 1000
#define VALUE_MAX_NODES 100000000

/* Values whose record depends on nothing but their identity. */
static inline int
value_is_immutable_scalar(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    return tp == &PyLong_Type || tp == &PyFloat_Type || tp == &PyUnicode_Type ||
           obj == Py_None || tp == &PyBool_Type || tp == &PyBytes_Type;
}

/* Set the size limit of the values encoded from now on. */
void value_encoder_set_node_limit(Py_ssize_t nodes);

/* Append the ValueRecord of `obj` to `b`, in CBOR or JSON; new types are
   interned in `w`.  Any value: encode_value() and encode_value_json() try
   the common scalars first. */
void encode_value_as(TraceWriter *w, JsonBuffer *b, PyObject *obj, int cbor);

static inline void
encode_value_or_scalar(TraceWriter *w, JsonBuffer *b, PyObject *obj, int cbor)
{
    size_t start = b->len;
    int failed_before = b->failed;
    if (put_common_scalar(w, b, obj, cbor)) {
        if (!b->failed || failed_before) {
            return;
        }
        /* Out of memory: the general encoder reports it. */
        b->failed = 0;
        b->len = start;
    }
    encode_value_as(w, b, obj, cbor);
}

/* The ValueRecord of `obj` in the encoding of `w`'s trace (CBOR for
   trace.ct, else JSON). */
static inline void
encode_value(TraceWriter *w, JsonBuffer *b, PyObject *obj)
{
    encode_value_or_scalar(w, b, obj, w->cbor);
}

/* The same in JSON, whatever the trace's format: for the extension file. */
static inline void
encode_value_json(TraceWriter *w, JsonBuffer *b, PyObject *obj)
{
    encode_value_or_scalar(w, b, obj, 0);
}
/* Begin a group of values encoded one after another with no code run in
   between: a container met again in the group is known to be unchanged
   and copied from its record.  End it before code runs.  If `unchanged`,
   nothing that ran since the last encoding can have changed an object
   (quiet_lines.h): what it found current still is. */
static inline void
encode_group_begin(TraceWriter *w, int unchanged)
{
    if (!unchanged) {
        w->encoding++;
    }
    w->in_group = 1;
    w->group_met_container = 0;
}

static inline void
encode_group_end(TraceWriter *w)
{
    w->in_group = 0;
}

/* Append "TypeName: message" for an exception, as a JSON string body.
   User-defined exception classes are described from their args only. */
void describe_exception(JsonBuffer *b, PyObject *exc);
/* The two parts of it: the qualified type name, and the args. */
void describe_exception_type(JsonBuffer *b, PyObject *exc);
void describe_exception_message(JsonBuffer *b, PyObject *exc);

#endif
