/* Exceptions in recorded code: raised, propagated into a caller, handled,
 * re-raised, leaving a frame, thrown into a generator, and uncaught at the
 * end.  Written to the extension file; the message comes from the
 * exception's args, never from a __str__ of the program's. */

#include "recorder.h"
#include "code_info.h"
#include "value_encoder.h"

#include "pycore_code.h"              // _PyCode_GetCode()
#include "pycore_intrinsics.h"        // INTRINSIC_STOPITERATION_ERROR
#include "pycore_opcode_metadata.h"   // _PyOpcode_Caches

/* The deoptimized instructions of a code object: instrumentation and
   specialization undone, inline caches zeroed, so every unit is either an
   instruction or an empty CACHE. */
typedef struct {
    PyObject *holder;
    const _Py_CODEUNIT *units;
    int n;
} Deopted;

static int
deopt(PyCodeObject *code, Deopted *d)
{
    d->holder = _PyCode_GetCode(code);
    if (d->holder == NULL) {
        PyErr_Clear();
        return -1;
    }
    d->units = (const _Py_CODEUNIT *)PyBytes_AS_STRING(d->holder);
    d->n = (int)(PyBytes_GET_SIZE(d->holder) / (Py_ssize_t)sizeof(_Py_CODEUNIT));
    return 0;
}

static int
op_at(const Deopted *d, int i)
{
    return i >= 0 && i < d->n ? d->units[i].op.code : CACHE;
}

/* Handlers the compiler adds that only pass an exception on, so that their
   catch and re-raise are not the program's: `COPY 3; POP_EXCEPT;
   RERAISE 1` behind every except and finally block, and the
   `CALL_INTRINSIC_1 STOPITERATION_ERROR; RERAISE 1` around every generator
   and coroutine body.  `i` is where the handler starts. */
static int
is_pass_through_handler(const Deopted *d, int i)
{
    if (op_at(d, i) == COPY && op_at(d, i + 1) == POP_EXCEPT) {
        return op_at(d, i + 2) == RERAISE;
    }
    return op_at(d, i) == CALL_INTRINSIC_1 &&
           d->units[i].op.arg == INTRINSIC_STOPITERATION_ERROR &&
           op_at(d, i + 1) == RERAISE;
}

/* The RERAISE at i ends a pass-through handler. */
static int
ends_pass_through_handler(const Deopted *d, int i)
{
    return is_pass_through_handler(d, i - 2) || is_pass_through_handler(d, i - 1);
}

/* A StopIteration raised at code unit i (any unit of the instruction) that
   a for loop or an await consumes there: how iteration ends, not an
   error. */
static int
ends_iteration(const Deopted *d, int i, PyObject *exc)
{
    if (!PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_StopIteration)) {
        return 0;
    }
    for (int start = 0; start < d->n; start += 1 + _PyOpcode_Caches[op_at(d, start)]) {
        int op = op_at(d, start);
        if (i <= start + _PyOpcode_Caches[op]) {
            return i >= start && (op == FOR_ITER || op == SEND || op == END_ASYNC_FOR);
        }
    }
    return 0;
}

void
record_exception(ThreadRecording *tr, long long step, const char *kind,
                 Py_ssize_t function_id, PyObject *exc)
{
    if (exc == NULL || !PyExceptionInstance_Check(exc)) {
        return;
    }
    ExtensionWriter *x = &tr->ext;
    JsonBuffer *scratch = &tr->scratch;
    ext_begin(x, "exception", step);
    ext_text(x, kind, strlen(kind));
    ext_int(x, function_id);
    scratch->len = 0;
    describe_exception_type(scratch, exc);
    ext_string_body(x, scratch->data, scratch->len);
    scratch->len = 0;
    describe_exception_message(scratch, exc);
    ext_string_body(x, scratch->data, scratch->len);
    ext_end(x);
}

int
on_exception_event(PyThreadState *tstate, _PyInterpreterFrame *frame,
                   _Py_CODEUNIT *instr, int event, PyObject *arg)
{
    if (!recorder.active) {
        return 0;
    }
    CodeInfo *info = code_info_get(_PyFrame_GetCode(frame));
    if (info == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (!info->recorded) {
        return 0;
    }
    ThreadRecording *tr = thread_recording_of(tstate);
    if (tr == NULL) {
        return 0;
    }
    PyCodeObject *code = _PyFrame_GetCode(frame);
    int i = (int)(instr - _PyCode_CODE(code));
    Deopted d;
    if (deopt(code, &d) < 0) {
        return 0;
    }
    const char *kind = NULL;
    switch (event) {
    case PY_MONITORING_EVENT_RAISE:
        if (arg == tr->thrown && frame == tr->thrown_into) {
            /* throw()'s exception, raised at the yield: recorded as such. */
        }
        else if (!ends_iteration(&d, i, arg)) {
            kind = arg == tr->unwinding && frame == tr->unwinding_into
                ? "propagate" : "raise";
        }
        break;
    case PY_MONITORING_EVENT_RERAISE:
        kind = ends_pass_through_handler(&d, i) ? NULL : "reraise";
        break;
    default:
        kind = is_pass_through_handler(&d, i) ? NULL : "handled";
        break;
    }
    Py_DECREF(d.holder);
    tr->thrown = NULL;
    tr->unwinding = NULL;
    if (kind == NULL) {
        return 0;
    }
    Py_ssize_t path_id = code_path_id(tr, info, code);
    Py_ssize_t function_id = code_function_id(tr, info, frame, code, path_id);
    record_exception(tr, current_step(tr, frame), kind, function_id, arg);
    PyErr_Clear();
    return 0;
}
