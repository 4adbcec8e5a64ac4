/* A code object's instructions as the recorder reads them: deoptimized,
 * with instrumentation and specialization undone and inline caches zeroed,
 * so every unit is an instruction, an EXTENDED_ARG prefix or an empty
 * CACHE whatever the code object's current state. */

#ifndef CTRECORD_BYTECODE_H
#define CTRECORD_BYTECODE_H

#include "Python.h"
#include "pycore_code.h"              // _PyCode_GetCode()
#include "pycore_opcode_metadata.h"   // CACHE, EXTENDED_ARG

typedef struct {
    PyObject *holder;             /* keeps `units` alive */
    const _Py_CODEUNIT *units;
    Py_ssize_t n;
} Bytecode;

/* Return -1 with an exception set on failure. */
static inline int
bytecode_get(PyCodeObject *code, Bytecode *bc)
{
    bc->holder = _PyCode_GetCode(code);
    if (bc->holder == NULL) {
        return -1;
    }
    bc->units = (const _Py_CODEUNIT *)PyBytes_AS_STRING(bc->holder);
    bc->n = PyBytes_GET_SIZE(bc->holder) / (Py_ssize_t)sizeof(_Py_CODEUNIT);
    return 0;
}

static inline void
bytecode_release(Bytecode *bc)
{
    Py_CLEAR(bc->holder);
}

/* The opcode at unit i; CACHE outside the code. */
static inline int
bytecode_op(const Bytecode *bc, Py_ssize_t i)
{
    return i >= 0 && i < bc->n ? bc->units[i].op.code : CACHE;
}

/* The full argument at unit i, EXTENDED_ARG prefixes included. */
static inline int
bytecode_oparg(const Bytecode *bc, Py_ssize_t i)
{
    int oparg = bc->units[i].op.arg;
    int shift = 8;
    for (Py_ssize_t j = i - 1; j >= 0 && bc->units[j].op.code == EXTENDED_ARG; j--) {
        oparg |= bc->units[j].op.arg << shift;
        shift += 8;
    }
    return oparg;
}

#endif
