/* Assignments and subexpression values, taken at INSTRUCTION events.
 *
 * The 0004 patch makes the value stack readable while the callback runs.
 * code_sites.c decided which instructions are probed; every other one gets
 * DISABLE the first time it fires, so its INSTRUCTION event goes away.
 * A store is recorded just before it runs, from the values it is about to
 * use: the store the program asked for, whatever __setattr__, __setitem__
 * or a descriptor then makes of it. */

#include "code_sites.h"
#include "value_encoder.h"

#include "pycore_code.h"              // _Py_GetBaseOpcode()
#include "pycore_opcode_metadata.h"   // _PyOpcode_Deopt

enum { CONTINUE = 0, DISABLE = 1 };

/* Append ",<ValueRecord>" of `obj` to the record being written.  Types it
   needs are interned in trace.json (or trace.ct), never in this record. */
static void
put_value(ThreadRecording *tr, PyObject *obj)
{
    encode_value_json(&tr->writer, ext_field(&tr->ext), obj);
}

static void
record_store(ThreadRecording *tr, long long step, int site, PyObject *value,
             PyObject *const *keys, int nkeys)
{
    if (site < 0) {
        return;
    }
    ExtensionWriter *x = &tr->ext;
    ext_begin(x, value != NULL ? EXT_ASSIGN : EXT_DELETE, step);
    ext_int(x, site);
    if (value != NULL) {
        put_value(tr, value);
    }
    for (int k = 0; k < nkeys; k++) {
        put_value(tr, keys[k]);
    }
    ext_end(x);
}

/* `sp` is the stack pointer: sp[-1] is the top of the stack. */
static void
record_store_instruction(ThreadRecording *tr, CodeInfo *info, _PyInterpreterFrame *frame,
                         int i, int op, PyObject **sp, long long step)
{
    int is_name_store = op == STORE_FAST || op == STORE_FAST_LOAD_FAST ||
                        op == STORE_NAME || op == STORE_GLOBAL || op == STORE_DEREF;
    if (is_name_store && sp[-1] == NULL) {
        return;     /* a comprehension putting back an unbound outer variable */
    }
    int site = code_site_id(tr, info, frame, i, SITE_STORE);
    switch (op) {
    case STORE_FAST: case STORE_FAST_LOAD_FAST: case STORE_NAME:
    case STORE_GLOBAL: case STORE_DEREF:
        record_store(tr, step, site, sp[-1], NULL, 0);
        break;
    case STORE_FAST_STORE_FAST:
        record_store(tr, step, site, sp[-1], NULL, 0);
        record_store(tr, step, site < 0 ? -1 : site + 1, sp[-2], NULL, 0);
        break;
    case STORE_ATTR:
        record_store(tr, step, site, sp[-2], NULL, 0);
        break;
    case STORE_SUBSCR:
        record_store(tr, step, site, sp[-3], sp - 1, 1);
        break;
    case STORE_SLICE:
        /* start and stop */
        record_store(tr, step, site, sp[-4], sp - 2, 2);
        break;
    case DELETE_SUBSCR:
        record_store(tr, step, site, NULL, sp - 1, 1);
        break;
    default:                /* the other DELETE_* */
        record_store(tr, step, site, NULL, NULL, 0);
        break;
    }
}

static void
record_value(ThreadRecording *tr, CodeInfo *info, _PyInterpreterFrame *frame,
             int i, int role, long long step, PyObject *value)
{
    int site = code_site_id(tr, info, frame, i, role);
    if (site >= 0 && value != NULL) {
        ext_begin(&tr->ext, EXT_VALUE, step);
        ext_int(&tr->ext, site);
        put_value(tr, value);
        ext_end(&tr->ext);
    }
}

/* Whether the jump at i, about to run, will be taken. */
static int
jump_taken(PyCodeObject *code, int i, PyObject **sp)
{
    switch (_PyOpcode_Deopt[_Py_GetBaseOpcode(code, i)]) {
    case POP_JUMP_IF_FALSE:
        return sp[-1] == Py_False;
    case POP_JUMP_IF_TRUE:
        return sp[-1] == Py_True;
    case POP_JUMP_IF_NONE:
        return sp[-1] == Py_None;
    case POP_JUMP_IF_NOT_NONE:
        return sp[-1] != Py_None;
    }
    return 1;
}

int
on_instruction(PyThreadState *tstate, _PyInterpreterFrame *frame,
               _Py_CODEUNIT *instr, int event, PyObject *arg)
{
    if (!recorder.active) {
        return DISABLE;
    }
    PyCodeObject *code = _PyFrame_GetCode(frame);
    ThreadRecording *tr = thread_recording_of(tstate);
    OpenFrame *of = tr != NULL ? open_frame(tr, frame) : NULL;
    /* A recorded frame's entry knows its code's info: no lookup. */
    CodeInfo *info = of != NULL ? of->info : code_info_get(code);
    if (info == NULL) {
        PyErr_Clear();
        return DISABLE;
    }
    int i = (int)(instr - _PyCode_CODE(code));
    if (info->probes == NULL || i >= info->ncodeunits || info->probes[i].roles == 0) {
        return DISABLE;
    }
    if (tr == NULL) {
        return CONTINUE;
    }
    const Probe *probe = &info->probes[i];
    PyObject **sp = frame->localsplus + frame->stacktop;
    long long step = current_step(tr, frame);
    /* A value consumed where a new line starts was produced on the line
       before: the LINE event of this instruction has already fired. */
    long long value_step = of != NULL && of->line_unit == i ? of->previous_step : step;
    if (probe->roles & PROBE_VALUE) {
        int jumped_here = (probe->roles & PROBE_MERGE) &&
                          tr->jump_frame == frame && tr->jump_target == i;
        if (jumped_here) {
            tr->jump_frame = NULL;
        }
        else {
            record_value(tr, info, frame, i, SITE_VALUE, value_step, sp[-1]);
        }
    }
    if (probe->roles & PROBE_BOOL_OP) {
        record_value(tr, info, frame, i, SITE_BOOL_OP, value_step, sp[-1]);
    }
    if ((probe->roles & PROBE_JUMP) && jump_taken(code, i, sp)) {
        tr->jump_frame = frame;
        tr->jump_target = probe->aux;
    }
    if (probe->roles & (PROBE_STORE | PROBE_DELETE)) {
        int op = _PyOpcode_Deopt[_Py_GetBaseOpcode(code, i)];
        record_store_instruction(tr, info, frame, i, op, sp, step);
    }
    PyErr_Clear();
    return CONTINUE;
}
