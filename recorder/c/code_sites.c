/* Which instructions of a code object the recorder probes, and the sites
 * they are recorded as. */

#include "code_sites.h"
#include "bytecode.h"
#include "frame_reader.h"
#include "source_segments.h"

#include "pycore_intrinsics.h"        // INTRINSIC_UNARY_POSITIVE
#include "pycore_opcode_metadata.h"   // _PyOpcode_Caches, OPCODE_HAS_JUMP
#include "pycore_opcode_utils.h"      // RESUME_AFTER_YIELD

static int
store_role(int op)
{
    switch (op) {
    case STORE_FAST: case STORE_FAST_LOAD_FAST: case STORE_FAST_STORE_FAST:
    case STORE_NAME: case STORE_GLOBAL: case STORE_DEREF:
    case STORE_ATTR: case STORE_SUBSCR: case STORE_SLICE:
        return PROBE_STORE;
    case DELETE_FAST: case DELETE_NAME: case DELETE_GLOBAL: case DELETE_DEREF:
    case DELETE_ATTR: case DELETE_SUBSCR:
        return PROBE_DELETE;
    }
    return 0;
}

/* Instructions that push one value, the one a subexpression evaluates to. */
static int
produces_value(int op, int oparg)
{
    switch (op) {
    case BINARY_OP: case COMPARE_OP: case CONTAINS_OP: case IS_OP:
    case UNARY_NEGATIVE: case UNARY_INVERT: case UNARY_NOT:
    case CALL: case CALL_KW: case CALL_FUNCTION_EX:
    case BINARY_SUBSCR: case BINARY_SLICE:
    case BUILD_TUPLE: case BUILD_CONST_KEY_MAP: case BUILD_STRING:
    case FORMAT_SIMPLE: case FORMAT_WITH_SPEC: case CONVERT_VALUE:
        return 1;
    case BUILD_LIST: case BUILD_SET: case BUILD_MAP:
        /* An empty one is filled by the instructions that follow. */
        return oparg > 0;
    case LIST_EXTEND: case SET_UPDATE: case DICT_UPDATE:
        return oparg == 1;            /* the display is on top again */
    case LOAD_ATTR: case LOAD_SUPER_ATTR:
        return !(oparg & 1);          /* not the method-call form */
    case CALL_INTRINSIC_1:
        return oparg == INTRINSIC_UNARY_POSITIVE || oparg == INTRINSIC_LIST_TO_TUPLE;
    }
    return 0;
}

static int
is_class_body(PyCodeObject *code)
{
    return !(code->co_flags & CO_OPTIMIZED) &&
           !PyUnicode_EqualToUTF8(code->co_name, "<module>");
}

static int
read_varint(const unsigned char **p, const unsigned char *end)
{
    int value = 0;
    while (*p < end) {
        int b = *(*p)++;
        value = (value << 6) | (b & 63);
        if (!(b & 64)) {
            break;
        }
    }
    return value;
}

/* How execution can arrive at a code unit other than by falling through. */
enum {
    ARRIVAL_BY_JUMP = 1,        /* from a jump the probes can follow */
    ARRIVAL_OTHER = 2,          /* from FOR_ITER, SEND or an exception */
};

static int
is_followable_jump(int op)
{
    switch (op) {
    case POP_JUMP_IF_FALSE: case POP_JUMP_IF_TRUE:
    case POP_JUMP_IF_NONE: case POP_JUMP_IF_NOT_NONE:
    case JUMP_FORWARD: case JUMP_BACKWARD: case JUMP_BACKWARD_NO_INTERRUPT:
        return 1;
    }
    return 0;
}

/* The code unit a jump at i lands on. */
static Py_ssize_t
jump_target(const Bytecode *bc, Py_ssize_t i)
{
    int op = bc->units[i].op.code;
    Py_ssize_t next = i + 1 + _PyOpcode_Caches[op];
    int oparg = bytecode_oparg(bc, i);
    if (op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT) {
        return next - oparg;
    }
    return next + oparg;
}

static void
mark_arrivals(PyCodeObject *code, const Bytecode *bc, uint8_t *arrival)
{
    for (Py_ssize_t i = 0; i < bc->n; i += 1 + _PyOpcode_Caches[bc->units[i].op.code]) {
        int op = bc->units[i].op.code;
        if (op == EXTENDED_ARG || !OPCODE_HAS_JUMP(op)) {
            continue;
        }
        Py_ssize_t target = jump_target(bc, i);
        /* FOR_ITER lands past the END_FOR and POP_TOP there when the
           iterator is exhausted. */
        Py_ssize_t last = op == FOR_ITER ? target + 2 : target;
        for (Py_ssize_t t = target; t <= last; t++) {
            if (t >= 0 && t < bc->n) {
                arrival[t] |= is_followable_jump(op) ? ARRIVAL_BY_JUMP : ARRIVAL_OTHER;
            }
        }
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    const unsigned char *end = p + PyBytes_GET_SIZE(code->co_exceptiontable);
    while (p < end) {
        (void)read_varint(&p, end);               /* start */
        (void)read_varint(&p, end);               /* length */
        int handler = read_varint(&p, end);
        (void)read_varint(&p, end);               /* depth and lasti */
        if (handler < bc->n) {
            arrival[handler] |= ARRIVAL_OTHER;
        }
    }
}

typedef struct {
    Py_ssize_t at;
    int op, oparg;
} Instruction;

static int
loads_name(const Instruction *ins, PyCodeObject *code, const char *name)
{
    return (ins->op == LOAD_NAME || ins->op == LOAD_GLOBAL) &&
           PyUnicode_EqualToUTF8(PyTuple_GET_ITEM(
               code->co_names, ins->op == LOAD_GLOBAL ? ins->oparg >> 1 : ins->oparg), name);
}

/* Stores the compiler adds: a class body's bookkeeping names, docstrings,
   and `__annotations__[name] = type` for an annotated assignment. */
static int
is_bookkeeping_store(PyCodeObject *code, int op, int oparg, const Instruction *before)
{
    if (op == STORE_SUBSCR) {
        return loads_name(&before[1], code, "__annotations__");
    }
    if (op != STORE_NAME) {
        return 0;
    }
    static const char *const names[] = {
        "__module__", "__qualname__", "__firstlineno__", "__static_attributes__",
        "__classdictcell__", "__classcell__", "__type_params__", "__doc__",
    };
    PyObject *name = PyTuple_GET_ITEM(code->co_names, oparg);
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (PyUnicode_EqualToUTF8(name, names[k])) {
            return 1;
        }
    }
    return 0;
}

static int
loads_constant(const Instruction *ins, PyCodeObject *code, PyObject *constant)
{
    return ins->op == LOAD_CONST && PyTuple_GET_ITEM(code->co_consts, ins->oparg) == constant;
}

/* The __exit__(None, None, None) call ending a `with` block: a value only
   the compiler's code sees. */
static int
is_exit_call(PyCodeObject *code, const Instruction *before)
{
    return before[0].op == CALL && before[0].oparg == 2 &&
           loads_constant(&before[1], code, Py_None) &&
           loads_constant(&before[2], code, Py_None) &&
           loads_constant(&before[3], code, Py_None);
}

static int
is_store_then_delete(int store, int del)
{
    return (store == STORE_FAST && del == DELETE_FAST) ||
           (store == STORE_NAME && del == DELETE_NAME) ||
           (store == STORE_GLOBAL && del == DELETE_GLOBAL) ||
           (store == STORE_DEREF && del == DELETE_DEREF);
}

/* `except E as name:` ends with `name = None; del name`, after POP_EXCEPT
   or at the entry of the handler that cleans up when the block raises:
   housekeeping of the compiler's, so neither is recorded. */
static int
is_exception_name_cleanup(PyCodeObject *code, const Bytecode *bc, Py_ssize_t i,
                          int op, int oparg, const Instruction *before,
                          const uint8_t *arrival)
{
    const Instruction *none;
    if (before[0].op == LOAD_CONST) {           /* the store */
        Py_ssize_t next = i + 1 + _PyOpcode_Caches[op];
        if (next >= bc->n || bytecode_oparg(bc, next) != oparg ||
            !is_store_then_delete(op, bc->units[next].op.code))
        {
            return 0;
        }
        none = &before[0];
    }
    else if (before[1].op == LOAD_CONST && before[0].oparg == oparg &&
             is_store_then_delete(before[0].op, op))   /* the delete */
    {
        none = &before[1];
    }
    else {
        return 0;
    }
    return PyTuple_GET_ITEM(code->co_consts, none->oparg) == Py_None &&
           ((none + 1)->op == POP_EXCEPT || (arrival[none->at] & ARRIVAL_OTHER));
}

/* How many values an instruction takes off the stack and how many new
   ones it puts there.  Those that update a collection in place count as
   taking the collection and putting it back updated when it ends on top
   (oparg 1), else as taking only their operand.  0 for an instruction
   that reorders or duplicates values, which ends the walk below. */
static int
stack_effect(int op, int oparg, int *popped, int *pushed)
{
    switch (op) {
    case LIST_APPEND: case LIST_EXTEND: case SET_ADD: case SET_UPDATE:
    case DICT_UPDATE: case DICT_MERGE:
        *popped = oparg == 1 ? 2 : 1;
        *pushed = oparg == 1;
        return 1;
    case MAP_ADD:
        *popped = oparg == 1 ? 3 : 2;
        *pushed = oparg == 1;
        return 1;
    case SWAP: case COPY: case FOR_ITER: case SEND:
        return 0;
    }
    *popped = _PyOpcode_num_popped(op, oparg);
    *pushed = _PyOpcode_num_pushed(op, oparg);
    return 1;
}

/* The order[] index of the instruction that pushed the value `depth`
   places below the top of the stack when order[k] is about to run (0: the
   top), found by walking back over stack effects; -1 if a jump target, an
   instruction that reorders the stack, or the walk's limit is in the
   way. */
static Py_ssize_t
pusher_of(const Bytecode *bc, const Py_ssize_t *order, Py_ssize_t k, int depth,
          const uint8_t *arrival)
{
    int above = depth;      /* values above it right after order[m] */
    for (Py_ssize_t m = k - 1; m >= 0 && k - m < 256; m--) {
        Py_ssize_t j = order[m];
        int popped, pushed;
        if (!stack_effect(bc->units[j].op.code, bytecode_oparg(bc, j), &popped, &pushed)) {
            return -1;
        }
        if (above < pushed) {
            return m;
        }
        above += popped - pushed;
        if (arrival[j]) {
            return -1;      /* a jump lands here: no straight line back */
        }
    }
    return -1;
}

static int
builds_display(int op, int oparg)
{
    switch (op) {
    case BUILD_LIST: case BUILD_TUPLE: case BUILD_SET: case BUILD_MAP:
    case BUILD_CONST_KEY_MAP: case LIST_EXTEND: case SET_UPDATE:
    case DICT_UPDATE: case DICT_MERGE:
        return 1;
    case CALL_INTRINSIC_1:
        return oparg == INTRINSIC_LIST_TO_TUPLE;
    }
    return 0;
}

/* The value at `depth` when order[k] runs is an intermediate the compiler
   builds: drop the value probe after the instruction that pushed it
   (if `only_displays`, only when that instruction builds a display). */
static void
drop_value_at(const Bytecode *bc, const Py_ssize_t *order, Py_ssize_t k, int depth,
              const uint8_t *arrival, Probe *probes, int only_displays)
{
    Py_ssize_t m = pusher_of(bc, order, k, depth, arrival);
    if (m < 0) {
        return;
    }
    Py_ssize_t j = order[m];
    if (!only_displays || builds_display(bc->units[j].op.code, bytecode_oparg(bc, j))) {
        probes[order[m + 1]].roles &= (uint8_t)~(PROBE_VALUE | PROBE_MERGE);
    }
}

/* Intermediate values that order[k] consumes and the program never sees:
 * - a display being filled: `[1, *a]` is BUILD_LIST, LIST_EXTEND (and a
 *   CALL_INTRINSIC_1 LIST_TO_TUPLE for a tuple); only the full one counts;
 * - the argument tuple and keyword dict CALL_FUNCTION_EX is given for
 *   `f(*a, **k)`;
 * - the defaults, keyword defaults, annotations and closure cells a `def`
 *   or `lambda` packs before MAKE_FUNCTION, one SET_FUNCTION_ATTRIBUTE
 *   each, when order[k] loads the function's code.
 * An expression written by the program inside them keeps its value. */
static void
drop_intermediate_values(PyCodeObject *code, const Bytecode *bc, const Py_ssize_t *order,
                         Py_ssize_t k, const uint8_t *arrival, Probe *probes)
{
    Py_ssize_t i = order[k];
    int op = bc->units[i].op.code, oparg = bytecode_oparg(bc, i);
    switch (op) {
    case LIST_EXTEND: case SET_UPDATE: case DICT_UPDATE: case DICT_MERGE:
        drop_value_at(bc, order, k, oparg, arrival, probes, 0);
        return;
    case CALL_INTRINSIC_1:
        if (oparg == INTRINSIC_LIST_TO_TUPLE) {
            drop_value_at(bc, order, k, 0, arrival, probes, 0);
        }
        return;
    case CALL_FUNCTION_EX:
        for (int depth = 0; depth <= (oparg & 1); depth++) {
            drop_value_at(bc, order, k, depth, arrival, probes, 1);
        }
        return;
    case LOAD_CONST:
        if (PyCode_Check(PyTuple_GET_ITEM(code->co_consts, oparg)) &&
            i + 1 < bc->n && bc->units[i + 1].op.code == MAKE_FUNCTION)
        {
            for (Py_ssize_t j = i + 2;
                 j < bc->n && bc->units[j].op.code == SET_FUNCTION_ATTRIBUTE; j++)
            {
                drop_value_at(bc, order, k, (int)(j - i - 2), arrival, probes, 0);
            }
        }
        return;
    }
}

/* The instruction at code unit t, past any EXTENDED_ARG prefixes. */
static Py_ssize_t
past_prefixes(const Bytecode *bc, Py_ssize_t t)
{
    while (t < bc->n && bc->units[t].op.code == EXTENDED_ARG) {
        t++;
    }
    return t;
}

static int
next_op_is(const Bytecode *bc, Py_ssize_t i, int op)
{
    Py_ssize_t next = i + 1 + _PyOpcode_Caches[bc->units[i].op.code];
    return next < bc->n && bc->units[next].op.code == op;
}

static void
set_producer(Probe *probe, Py_ssize_t i, Py_ssize_t producer)
{
    if (i - producer <= UINT16_MAX) {
        probe->roles |= PROBE_VALUE;
        probe->producer_back = (uint16_t)(i - producer);
    }
}

int
code_sites_analyse(PyCodeObject *code, CodeInfo *info, int stores, int values)
{
    Bytecode bc;
    if (bytecode_get(code, &bc) < 0) {
        return -1;
    }
    Probe *probes = PyMem_Calloc((size_t)bc.n + 1, sizeof(Probe));
    uint8_t *arrival = PyMem_Calloc((size_t)bc.n + 1, 1);
    Py_ssize_t *order = PyMem_Calloc((size_t)bc.n + 1, sizeof(Py_ssize_t));
    /* Variables a comprehension saves and puts back (LOAD_FAST_AND_CLEAR). */
    uint8_t *cleared = PyMem_Calloc((size_t)code->co_nlocalsplus + 1, 1);
    if (probes == NULL || arrival == NULL || order == NULL || cleared == NULL) {
        PyMem_Free(probes);
        PyMem_Free(arrival);
        PyMem_Free(order);
        PyMem_Free(cleared);
        bytecode_release(&bc);
        PyErr_NoMemory();
        return -1;
    }
    mark_arrivals(code, &bc, arrival);
    /* The last four instructions, newest first. */
    Instruction before[4] = {{-1, 0, 0}, {-1, 0, 0}, {-1, 0, 0}, {-1, 0, 0}};
    Py_ssize_t start = 0;      /* of the current instruction's prefixes */
    Py_ssize_t collection = -1;   /* BUILD_LIST/SET/MAP of a comprehension */
    Py_ssize_t count = 0;         /* instructions in order[] */
    /* Where a comprehension's loop ends, it stores its result and puts its
       saved variables back: STORE_FAST, SWAP and POP_TOP from there on. */
    Py_ssize_t restores_from = -1;
    int restoring = 0;
    for (Py_ssize_t i = 0; i < bc.n; i++) {
        int op = bc.units[i].op.code;
        if (op == EXTENDED_ARG) {
            continue;
        }
        int oparg = bytecode_oparg(&bc, i);
        order[count++] = i;
        if (op == LOAD_FAST_AND_CLEAR) {
            cleared[oparg] = 1;
        }
        restoring = i == restores_from ||
                    (restoring && (op == STORE_FAST || op == SWAP || op == POP_TOP));
        Probe *probe = &probes[i];
        if (stores && !is_bookkeeping_store(code, op, oparg, before) &&
            !is_exception_name_cleanup(code, &bc, i, op, oparg, before, arrival) &&
            !(op == STORE_FAST && cleared[oparg] &&
              (restoring || next_op_is(&bc, i, RERAISE))))
        {
            probe->roles |= store_role(op);
        }
        const Instruction *prev = &before[0];
        if (values && !(arrival[start] & ARRIVAL_OTHER) && prev->at >= 0) {
            Py_ssize_t producer = -1;
            if (produces_value(prev->op, prev->oparg) && !is_exit_call(code, before))
            {
                producer = prev->at;
            }
            else if (prev->op == RESUME &&
                     (prev->oparg & RESUME_OPARG_LOCATION_MASK) == RESUME_AFTER_YIELD &&
                     before[1].op == YIELD_VALUE)
            {
                producer = before[1].at;    /* the value sent into the generator */
            }
            if (producer >= 0) {
                set_producer(probe, i, producer);
                if (arrival[start] & ARRIVAL_BY_JUMP) {
                    probe->roles |= PROBE_MERGE;
                }
            }
        }
        if (values) {
            drop_intermediate_values(code, &bc, order, count - 1, arrival, probes);
        }
        if (op == SWAP && prev->oparg == 0 &&
            (prev->op == BUILD_LIST || prev->op == BUILD_SET || prev->op == BUILD_MAP))
        {
            collection = prev->at;    /* an inlined comprehension's */
        }
        if (op == FOR_ITER && collection >= 0 &&
            before[0].op == GET_ITER && before[1].op == SWAP && before[2].at == collection)
        {
            /* Where the comprehension's loop ends, its result is on top. */
            Py_ssize_t end = past_prefixes(&bc, jump_target(&bc, i) + 2);
            if (values && end < bc.n) {
                probes[end].roles &= (uint8_t)~PROBE_MERGE;
                set_producer(&probes[end], end, collection);
            }
            restores_from = end;
            collection = -1;
        }
        if (values && (op == POP_JUMP_IF_FALSE || op == POP_JUMP_IF_TRUE) &&
            prev->op == TO_BOOL && before[1].op == COPY && before[1].oparg == 1)
        {
            Py_ssize_t end = past_prefixes(&bc, jump_target(&bc, i));
            if (end < bc.n && !(arrival[jump_target(&bc, i)] & ARRIVAL_OTHER)) {
                probes[end].roles |= PROBE_BOOL_OP;
                probes[end].aux = (int32_t)before[1].at;
            }
        }
        memmove(&before[1], &before[0], sizeof(before) - sizeof(before[0]));
        before[0] = (Instruction){i, op, oparg};
        i += _PyOpcode_Caches[op];
        start = i + 1;
    }
    /* Jumps into a PROBE_MERGE tell it so. */
    for (Py_ssize_t i = 0; i < bc.n; i += 1 + _PyOpcode_Caches[bc.units[i].op.code]) {
        int op = bc.units[i].op.code;
        if (is_followable_jump(op)) {
            Py_ssize_t target = past_prefixes(&bc, jump_target(&bc, i));
            if (target >= 0 && target < bc.n && (probes[target].roles & PROBE_MERGE)) {
                probes[i].roles |= PROBE_JUMP;
                probes[i].aux = (int32_t)target;
            }
        }
    }
    PyMem_Free(arrival);
    PyMem_Free(order);
    PyMem_Free(cleared);
    bytecode_release(&bc);
    PyMem_Free(info->probes);
    info->probes = probes;
    info->ncodeunits = bc.n;
    return 0;
}

static SourceRange
range_of(PyCodeObject *code, Py_ssize_t i)
{
    SourceRange r;
    if (!PyCode_Addr2Location(code, (int)(i * (Py_ssize_t)sizeof(_Py_CODEUNIT)),
                              &r.line, &r.column, &r.end_line, &r.end_column))
    {
        r.line = r.column = r.end_line = r.end_column = -1;
    }
    return r;
}

/* The text a store's target is written as: the variable name (a class
   attribute assigned in the class body as Class.name), or the source of
   an attribute or subscript target. */
static PyObject *
target_text(PyCodeObject *code, int op, int oparg, SourceRange range)
{
    switch (op) {
    case STORE_FAST: case DELETE_FAST: case STORE_DEREF: case DELETE_DEREF:
        return Py_NewRef(PyTuple_GET_ITEM(code->co_localsplusnames, oparg));
    case STORE_FAST_LOAD_FAST: case STORE_FAST_STORE_FAST:
        return Py_NewRef(PyTuple_GET_ITEM(code->co_localsplusnames, oparg >> 4));
    case STORE_GLOBAL: case DELETE_GLOBAL:
        return Py_NewRef(PyTuple_GET_ITEM(code->co_names, oparg));
    case STORE_NAME: case DELETE_NAME: {
        PyObject *name = PyTuple_GET_ITEM(code->co_names, oparg);
        if (is_class_body(code)) {
            return PyUnicode_FromFormat("%U.%U", code->co_qualname, name);
        }
        return Py_NewRef(name);
    }
    }
    PyObject *path = code_absolute_path(code);
    PyObject *segment = path ? source_segment(path, range) : NULL;
    Py_XDECREF(path);
    PyErr_Clear();
    if (op == STORE_ATTR || op == DELETE_ATTR) {
        PyObject *suffix = PyUnicode_FromFormat(".%U", PyTuple_GET_ITEM(code->co_names, oparg));
        if (segment == NULL || suffix == NULL ||
            PyUnicode_Tailmatch(segment, suffix, 0, PY_SSIZE_T_MAX, 1) != 1)
        {
            Py_XSETREF(segment, suffix ? PyUnicode_FromFormat("(?)%U", suffix) : NULL);
        }
        Py_XDECREF(suffix);
        return segment;
    }
    return segment ? segment : PyUnicode_FromString("(?)[?]");
}

static int
define_site(ThreadRecording *tr, CodeInfo *info, _PyInterpreterFrame *frame,
            const Bytecode *bc, Py_ssize_t i, int role)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    Py_ssize_t path_id = code_path_id(tr, info, code);
    Py_ssize_t function_id = code_function_id(tr, info, frame);
    if (path_id < 0 || function_id < 0) {
        return -1;
    }
    if (role == SITE_VALUE) {
        Py_ssize_t producer = i - info->probes[i].producer_back;
        int op = bc->units[producer].op.code;
        return ext_site(&tr->ext, "value", _PyOpcode_OpName[op], function_id, path_id,
                        range_of(code, producer), NULL);
    }
    if (role == SITE_BOOL_OP) {
        return ext_site(&tr->ext, "value", "BOOL_OP", function_id, path_id,
                        range_of(code, info->probes[i].aux), NULL);
    }
    int op = bc->units[i].op.code;
    int oparg = bytecode_oparg(bc, i);
    const char *kind = store_role(op) == PROBE_STORE ? "store" : "delete";
    SourceRange range = range_of(code, i);
    PyObject *target = target_text(code, op, oparg, range);
    if (target == NULL) {
        return -1;
    }
    int id = ext_site(&tr->ext, kind, _PyOpcode_OpName[op], function_id, path_id, range, target);
    Py_DECREF(target);
    if (op == STORE_FAST_STORE_FAST) {
        PyObject *second = PyTuple_GET_ITEM(code->co_localsplusnames, oparg & 15);
        (void)ext_site(&tr->ext, kind, _PyOpcode_OpName[op], function_id, path_id, range, second);
    }
    return id;
}

int
code_site_id(ThreadRecording *tr, CodeInfo *info, _PyInterpreterFrame *frame,
             int i, int role)
{
    code_info_sync(info, tr->serial);
    if (info->site_ids == NULL) {
        size_t count = (size_t)info->ncodeunits * SITE_ROLES;
        info->site_ids = PyMem_Malloc(sizeof(int) * (count + 1));
        if (info->site_ids == NULL) {
            return -1;
        }
        for (size_t j = 0; j < count; j++) {
            info->site_ids[j] = -1;
        }
    }
    int *slot = &info->site_ids[SITE_ROLES * i + role];
    if (*slot < 0) {
        Bytecode bc;
        if (bytecode_get(_PyFrame_GetCode(frame), &bc) < 0) {
            PyErr_Clear();
            return -1;
        }
        *slot = define_site(tr, info, frame, &bc, i, role);
        bytecode_release(&bc);
        PyErr_Clear();
    }
    return *slot;
}
