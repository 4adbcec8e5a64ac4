/* Exceptions in recorded code: raised, propagated into a caller, handled,
 * re-raised, leaving a frame, thrown into a generator, and uncaught at the
 * end.  Written to the extension file; the message comes from the
 * exception's args, never from a __str__ of the program's. */

#include "recorder.h"
#include "code_info.h"
#include "value_encoder.h"

#include "pycore_code.h"          // _Py_GetBaseOpcode()
#include "pycore_opcode_metadata.h"   // _PyOpcode_Deopt

/* Whether code unit i starts `COPY 3; POP_EXCEPT; RERAISE 1`: the handler
   the compiler adds behind every except and finally block, which only
   passes the exception on.  Its catch and re-raise are not the program's. */
static int
is_cleanup_handler(PyCodeObject *code, int i)
{
    return i >= 0 && i + 2 < (int)_PyCode_NBYTES(code) / (int)sizeof(_Py_CODEUNIT) &&
           _Py_GetBaseOpcode(code, i) == COPY &&
           _Py_GetBaseOpcode(code, i + 1) == POP_EXCEPT &&
           _Py_GetBaseOpcode(code, i + 2) == RERAISE;
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

/* A StopIteration that a for loop or an await consumes at instruction i:
   how iteration ends, not an error. */
static int
ends_iteration(PyCodeObject *code, int i, PyObject *exc)
{
    if (!PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_StopIteration)) {
        return 0;
    }
    int op = _PyOpcode_Deopt[_Py_GetBaseOpcode(code, i)];
    return op == FOR_ITER || op == SEND || op == END_ASYNC_FOR;
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
    const char *kind;
    switch (event) {
    case PY_MONITORING_EVENT_RAISE:
        if (arg == tr->thrown) {
            tr->thrown = NULL;
            return 0;
        }
        if (ends_iteration(code, i, arg)) {
            tr->unwinding = NULL;
            return 0;
        }
        kind = arg == tr->unwinding ? "propagate" : "raise";
        break;
    case PY_MONITORING_EVENT_RERAISE:
        if (is_cleanup_handler(code, i - 2)) {
            return 0;
        }
        kind = "reraise";
        break;
    default:
        if (is_cleanup_handler(code, i)) {
            return 0;
        }
        kind = "handled";
        break;
    }
    tr->unwinding = NULL;
    Py_ssize_t path_id = code_path_id(tr, info, code);
    Py_ssize_t function_id = code_function_id(tr, info, frame, code, path_id);
    record_exception(tr, current_step(tr, frame), kind, function_id, arg);
    PyErr_Clear();
    return 0;
}
