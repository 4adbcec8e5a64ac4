/* Exceptions in recorded code: raised, propagated into a caller, handled,
 * re-raised, leaving a frame, thrown into a generator, and uncaught at the
 * end.  Written to the extension file; the message comes from the
 * exception's args, never from a __str__ of the program's. */

#include "recorder.h"
#include "code_info.h"
#include "value_encoder.h"

#include "bytecode.h"
#include "pycore_intrinsics.h"        // INTRINSIC_STOPITERATION_ERROR
#include "pycore_opcode_metadata.h"   // _PyOpcode_Caches

/* Handlers the compiler adds that only pass an exception on, so that their
   catch and re-raise are not the program's: `COPY 3; POP_EXCEPT;
   RERAISE 1` behind every except and finally block, and the
   `CALL_INTRINSIC_1 STOPITERATION_ERROR; RERAISE 1` around every generator
   and coroutine body.  `i` is where the handler starts. */
static int
is_pass_through_handler(const Bytecode *bc, Py_ssize_t i)
{
    if (bytecode_op(bc, i) == COPY && bytecode_op(bc, i + 1) == POP_EXCEPT) {
        return bytecode_op(bc, i + 2) == RERAISE;
    }
    return bytecode_op(bc, i) == CALL_INTRINSIC_1 &&
           bytecode_oparg(bc, i) == INTRINSIC_STOPITERATION_ERROR &&
           bytecode_op(bc, i + 1) == RERAISE;
}

/* The RERAISE at i ends a pass-through handler. */
static int
ends_pass_through_handler(const Bytecode *bc, Py_ssize_t i)
{
    return is_pass_through_handler(bc, i - 2) || is_pass_through_handler(bc, i - 1);
}

/* A StopIteration raised at code unit i (any unit of the instruction) that
   a for loop or an await consumes there: how iteration ends, not an
   error. */
static int
ends_iteration(const Bytecode *bc, Py_ssize_t i, PyObject *exc)
{
    if (!PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_StopIteration)) {
        return 0;
    }
    for (Py_ssize_t start = 0; start < bc->n; start += 1 + _PyOpcode_Caches[bytecode_op(bc, start)]) {
        int op = bytecode_op(bc, start);
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
    ext_begin(x, EXT_EXCEPTION, step);
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
    Bytecode bc;
    if (bytecode_get(code, &bc) < 0) {
        PyErr_Clear();
        return 0;
    }
    const char *kind = NULL;
    switch (event) {
    case PY_MONITORING_EVENT_RAISE:
        if (arg == tr->thrown && frame == tr->thrown_into) {
            /* throw()'s exception, raised at the yield: recorded as such. */
        }
        else if (!ends_iteration(&bc, i, arg)) {
            kind = arg == tr->unwinding && frame == tr->unwinding_into
                ? "propagate" : "raise";
        }
        break;
    case PY_MONITORING_EVENT_RERAISE:
        kind = ends_pass_through_handler(&bc, i) ? NULL : "reraise";
        break;
    default:
        kind = is_pass_through_handler(&bc, i) ? NULL : "handled";
        break;
    }
    bytecode_release(&bc);
    tr->thrown = NULL;
    tr->unwinding = NULL;
    if (kind == NULL) {
        return 0;
    }
    record_exception(tr, current_step(tr, frame), kind, code_function_id(tr, info, frame), arg);
    PyErr_Clear();
    return 0;
}
