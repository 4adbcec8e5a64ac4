/* Quiet lines (quiet_lines.h): each line's instructions are read once from
 * the code object; each step on it interprets them over the types of the
 * values in the frame, to see that nothing the line does could run code,
 * raise or free a container. */

#include "quiet_lines.h"

#include "pycore_code.h"
#include "pycore_instruments.h"       // _Py_Instrumentation_GetLine()
#include "pycore_list.h"              // _PyListIterObject
#include "pycore_opcode_metadata.h"   // opcodes, _PyOpcode_Caches
#include "pycore_range.h"             // _PyRangeIterObject
#include "pycore_tuple.h"             // _PyTupleIterObject
#include "opcode.h"                   // NB_ADD ...

#include "bytecode.h"
#include "recorder.h"                 // RECORDER_TOOL_ID
#include "value_encoder.h"            // value_is_immutable_scalar()

/* Longer lines are not read: none of them is worth the check. */
#define MAX_LINE_OPS 24
#define MAX_STACK 8

typedef struct {
    uint8_t opcode;
    int arg;
} LineOp;

/* A line's instructions: `nops` ops from `first`; `nstores` of them
   store into a slot. */
typedef struct {
    Py_ssize_t first;
    int nops;
    int nstores;
} LineOps;

typedef struct QuietLines_ {
    LineOps *lines;
    Py_ssize_t nlines, lines_cap;
    LineOp *ops;
    Py_ssize_t nops, ops_cap;
    /* Per code unit: 0 not read yet, -1 never quiet, else 1 + the index
       of the line's LineOps in `lines`. */
    int32_t line_at[];
} QuietLines;

void
quiet_lines_free(CodeInfo *info)
{
    QuietLines *q = info->quiet_lines;
    if (q != NULL) {
        PyMem_RawFree(q->lines);
        PyMem_RawFree(q->ops);
        PyMem_RawFree(q);
        info->quiet_lines = NULL;
    }
}

/* Whether `opcode` may be on a quiet line, the values it meets allowing. */
static int
may_be_quiet(int opcode, int arg)
{
    switch (opcode) {
    case NOP:
    case LOAD_FAST:
    case LOAD_FAST_CHECK:
    case LOAD_FAST_LOAD_FAST:
    case LOAD_CONST:
    case STORE_FAST:
    case STORE_FAST_LOAD_FAST:
    case STORE_FAST_STORE_FAST:
    case COPY:
    case SWAP:
    case PUSH_NULL:
    case FOR_ITER:
    case COMPARE_OP:
    case UNARY_NEGATIVE:
        return 1;
    case BINARY_OP:
        /* The others can raise (a division by zero, an overflow). */
        return arg == NB_ADD || arg == NB_SUBTRACT || arg == NB_MULTIPLY ||
               arg == NB_INPLACE_ADD || arg == NB_INPLACE_SUBTRACT ||
               arg == NB_INPLACE_MULTIPLY;
    default:
        return 0;
    }
}

/* Whether the instruction at unit i, on another line than the one before
   it, fires a LINE event (instrumentation.c's initialize_lines()). */
static int
starts_line(const Bytecode *bc, PyCodeObject *code, Py_ssize_t i)
{
    int opcode = bytecode_op(bc, i);
    return i < bc->n && _Py_Instrumentation_GetLine(code, (int)i) >= 0 &&
           opcode != END_FOR && opcode != END_SEND && opcode != END_ASYNC_FOR &&
           opcode != RESUME;
}

/* Read the instructions of the line that starts at `unit` into ops[]:
   return their count, -1 if the line can never be quiet, or -2 with an
   exception set. */
static int
read_line(PyCodeObject *code, int unit, LineOp *ops, int *nstores)
{
    Bytecode bc;
    if (bytecode_get(code, &bc) < 0) {
        return -2;
    }
    int line = _Py_Instrumentation_GetLine(code, unit);
    int n = -1;
    int count = 0;
    *nstores = 0;
    for (Py_ssize_t i = unit; i < bc.n;) {
        if (i > unit && _Py_Instrumentation_GetLine(code, (int)i) != line) {
            /* The line ends, and the next event is this one's step. */
            n = starts_line(&bc, code, i) ? count : -1;
            break;
        }
        int opcode = bc.units[i].op.code;
        if (opcode == EXTENDED_ARG) {
            i++;
            continue;
        }
        int arg = bytecode_oparg(&bc, i);
        /* An iterator is only known at the top of the stack. */
        if (count == MAX_LINE_OPS || !may_be_quiet(opcode, arg) ||
            (opcode == FOR_ITER && count > 0))
        {
            break;
        }
        ops[count++] = (LineOp){(uint8_t)opcode, arg};
        *nstores += opcode == STORE_FAST || opcode == STORE_FAST_LOAD_FAST ? 1
                    : opcode == STORE_FAST_STORE_FAST ? 2 : 0;
        i += 1 + _PyOpcode_Caches[opcode];
    }
    bytecode_release(&bc);
    return n;
}

/* The line starting at `unit`, read on first use: NULL if it can never be
   quiet (or on a memory error, cleared). */
static const LineOps *
line_ops(CodeInfo *info, PyCodeObject *code, int unit)
{
    QuietLines *q = info->quiet_lines;
    if (q == NULL) {
        q = PyMem_RawCalloc(1, sizeof(QuietLines) + (size_t)Py_SIZE(code) * sizeof(int32_t));
        if (q == NULL) {
            return NULL;
        }
        info->quiet_lines = q;
    }
    if (q->line_at[unit] == 0) {
        LineOp ops[MAX_LINE_OPS];
        int nstores;
        int n = read_line(code, unit, ops, &nstores);
        if (n == -2) {
            PyErr_Clear();
            return NULL;
        }
        q->line_at[unit] = -1;
        if (n <= 0) {
            return NULL;
        }
        if (q->nlines == q->lines_cap) {
            Py_ssize_t cap = 2 * q->lines_cap + 8;
            LineOps *grown = PyMem_RawRealloc(q->lines, (size_t)cap * sizeof(LineOps));
            if (grown == NULL) {
                return NULL;
            }
            q->lines = grown;
            q->lines_cap = cap;
        }
        if (q->nops + n > q->ops_cap) {
            Py_ssize_t cap = 2 * q->ops_cap + MAX_LINE_OPS;
            LineOp *grown = PyMem_RawRealloc(q->ops, (size_t)cap * sizeof(LineOp));
            if (grown == NULL) {
                return NULL;
            }
            q->ops = grown;
            q->ops_cap = cap;
        }
        memcpy(q->ops + q->nops, ops, (size_t)n * sizeof(LineOp));
        q->lines[q->nlines] = (LineOps){q->nops, n, nstores};
        q->nops += n;
        q->line_at[unit] = (int32_t)++q->nlines;
    }
    return q->line_at[unit] > 0 ? &q->lines[q->line_at[unit] - 1] : NULL;
}

/* What the interpretation knows of a value. */
typedef enum { VALUE_UNBOUND, VALUE_INT, VALUE_FLOAT, VALUE_OTHER } ValueKind;

static ValueKind
kind_of(PyObject *value)
{
    if (value == NULL) {
        return VALUE_UNBOUND;
    }
    PyTypeObject *tp = Py_TYPE(value);
    return tp == &PyLong_Type || tp == &PyBool_Type ? VALUE_INT
           : tp == &PyFloat_Type ? VALUE_FLOAT : VALUE_OTHER;
}

typedef struct {
    _PyInterpreterFrame *frame;
    int nstores;
    ValueKind stack[MAX_STACK];
    int depth;
    /* Slots stored so far on the line, with the kind of what they got. */
    int stored_slot[MAX_LINE_OPS * 2];
    ValueKind stored_kind[MAX_LINE_OPS * 2];
    int nstored;
} LineRun;

static int
stored_index(const LineRun *run, int slot)
{
    for (int i = 0; i < run->nstored; i++) {
        if (run->stored_slot[i] == slot) {
            return i;
        }
    }
    return -1;
}

static int
push(LineRun *run, ValueKind kind)
{
    if (run->depth == MAX_STACK) {
        return 0;
    }
    run->stack[run->depth++] = kind;
    return 1;
}

static int
load(LineRun *run, int slot)
{
    int i = stored_index(run, slot);
    ValueKind kind = i >= 0 ? run->stored_kind[i] : kind_of(run->frame->localsplus[slot]);
    return kind != VALUE_UNBOUND && push(run, kind);
}

/* A store drops the slot's reference: it must not free a container (nor
   run a finalizer), so the old value is a scalar or has more references
   than the line's stores could drop.  A slot stored twice is not
   followed. */
static int
store(LineRun *run, int slot)
{
    if (run->depth == 0 || stored_index(run, slot) >= 0) {
        return 0;
    }
    PyObject *old = run->frame->localsplus[slot];
    if (old != NULL && !value_is_immutable_scalar(old) && Py_REFCNT(old) <= run->nstores) {
        return 0;
    }
    run->stored_slot[run->nstored] = slot;
    run->stored_kind[run->nstored++] = run->stack[--run->depth];
    return 1;
}

/* FOR_ITER at the line's start: it must take an item from a list, tuple or
   range iterator that has one (an exhausted iterator is dropped, which can
   free its sequence). */
static int
next_item(LineRun *run)
{
    _PyInterpreterFrame *frame = run->frame;
    if (frame->stacktop < 1) {
        return 0;
    }
    PyObject *it = frame->localsplus[frame->stacktop - 1];
    PyTypeObject *tp = Py_TYPE(it);
    if (tp == &PyListIter_Type) {
        _PyListIterObject *li = (_PyListIterObject *)it;
        return li->it_seq != NULL && li->it_index < PyList_GET_SIZE(li->it_seq) &&
               push(run, VALUE_OTHER);
    }
    if (tp == &PyTupleIter_Type) {
        _PyTupleIterObject *ti = (_PyTupleIterObject *)it;
        return ti->it_seq != NULL && ti->it_index < PyTuple_GET_SIZE(ti->it_seq) &&
               push(run, VALUE_OTHER);
    }
    if (tp == &PyRangeIter_Type) {
        return ((_PyRangeIterObject *)it)->len > 0 && push(run, VALUE_INT);
    }
    return 0;
}

/* Arithmetic on two ints or two floats: an int mixed with a float is
   converted, which overflows for a large int. */
static int
arithmetic(LineRun *run)
{
    if (run->depth < 2) {
        return 0;
    }
    ValueKind right = run->stack[--run->depth], left = run->stack[--run->depth];
    return left == right && (left == VALUE_INT || left == VALUE_FLOAT) && push(run, left);
}

static int
is_number(ValueKind kind)
{
    return kind == VALUE_INT || kind == VALUE_FLOAT;
}

static int
run_op(LineRun *run, PyCodeObject *code, const LineOp *op)
{
    int arg = op->arg;
    switch (op->opcode) {
    case NOP:
        return 1;
    case LOAD_FAST:
    case LOAD_FAST_CHECK:
        return load(run, arg);
    case LOAD_FAST_LOAD_FAST:
        return load(run, arg >> 4) && load(run, arg & 15);
    case LOAD_CONST:
        return push(run, kind_of(PyTuple_GET_ITEM(code->co_consts, arg)));
    case STORE_FAST:
        return store(run, arg);
    case STORE_FAST_LOAD_FAST:
        return store(run, arg >> 4) && load(run, arg & 15);
    case STORE_FAST_STORE_FAST:
        return store(run, arg >> 4) && store(run, arg & 15);
    case COPY:
        return arg >= 1 && arg <= run->depth && push(run, run->stack[run->depth - arg]);
    case SWAP: {
        if (arg < 2 || arg > run->depth) {
            return 0;
        }
        ValueKind top = run->stack[run->depth - 1];
        run->stack[run->depth - 1] = run->stack[run->depth - arg];
        run->stack[run->depth - arg] = top;
        return 1;
    }
    case PUSH_NULL:
        return push(run, VALUE_OTHER);
    case FOR_ITER:
        return next_item(run);
    case BINARY_OP:
        return arithmetic(run);
    case COMPARE_OP:
        if (run->depth < 2 || !is_number(run->stack[run->depth - 1]) ||
            !is_number(run->stack[run->depth - 2]))
        {
            return 0;
        }
        run->depth -= 2;
        return push(run, VALUE_INT);
    case UNARY_NEGATIVE:
        return run->depth >= 1 && is_number(run->stack[run->depth - 1]);
    default:
        return 0;
    }
}

/* Whether a tool other than the recorder watches `code`'s instructions
   (sys.settrace, a debugger, coverage): its callbacks could run code in
   the middle of the line. */
static int
other_tool_watches(PyCodeObject *code)
{
    const _PyCoMonitoringData *monitoring = code->_co_monitoring;
    if (monitoring == NULL) {
        return 1;
    }
    for (int event = 0; event < _PY_MONITORING_LOCAL_EVENTS; event++) {
        if (monitoring->active_monitors.tools[event] & ~(1 << RECORDER_TOOL_ID)) {
            return 1;
        }
    }
    return 0;
}

int
quiet_line(CodeInfo *info, _PyInterpreterFrame *frame, int unit)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    /* Most lines can never be quiet: that is known first. */
    const LineOps *line = line_ops(info, code, unit);
    if (line == NULL || other_tool_watches(code)) {
        return 0;
    }
    LineRun run;
    run.frame = frame;
    run.nstores = line->nstores;
    run.depth = 0;
    run.nstored = 0;
    const LineOp *ops = info->quiet_lines->ops + line->first;
    for (int i = 0; i < line->nops; i++) {
        if (!run_op(&run, code, &ops[i])) {
            return 0;
        }
    }
    return 1;
}
