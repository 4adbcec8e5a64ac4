/* Reading arguments and visible variables out of an interpreter frame. */

#include "frame_reader.h"

#include "pycore_code.h"          // _PyLocals_GetKind(), CO_FAST_*

int
frame_parameter_count(PyCodeObject *code)
{
    int n = code->co_argcount + code->co_kwonlyargcount;
    if (code->co_flags & CO_VARARGS) {
        n++;
    }
    if (code->co_flags & CO_VARKEYWORDS) {
        n++;
    }
    return n;
}

PyObject *
frame_slot_value(_PyInterpreterFrame *frame, int i)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    PyObject *value = frame->localsplus[i];
    if (value == NULL) {
        return NULL;
    }
    _PyLocals_Kind kind = _PyLocals_GetKind(code->co_localspluskinds, i);
    /* A cell slot holds the raw value until MAKE_CELL has run. */
    if ((kind & (CO_FAST_CELL | CO_FAST_FREE)) && PyCell_Check(value)) {
        return PyCell_GET(value);
    }
    return value;
}

PyObject *
frame_namespace(_PyInterpreterFrame *frame)
{
    PyObject *ns = frame->f_locals;
    return ns != NULL && PyDict_CheckExact(ns) ? ns : NULL;
}

static int
is_dunder_name(PyObject *name)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    return n > 4 &&
           PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
           PyUnicode_READ_CHAR(name, n - 1) == '_' && PyUnicode_READ_CHAR(name, n - 2) == '_';
}

int
namespace_entry_is_shown(PyObject *name, PyObject *value)
{
    /* An exact str: interning a subclass would run its __hash__. */
    return PyUnicode_CheckExact(name) && !is_dunder_name(name) &&
           !PyModule_Check(value) && !PyFunction_Check(value) &&
           !PyCFunction_Check(value) && !PyType_Check(value);
}

int
slot_is_shown(PyCodeObject *code, int i)
{
    PyObject *name = PyTuple_GET_ITEM(code->co_localsplusnames, i);
    return PyUnicode_GET_LENGTH(name) > 0 && PyUnicode_READ_CHAR(name, 0) != '.' &&
           !is_dunder_name(name);
}
