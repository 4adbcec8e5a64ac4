/* Reading arguments and visible variables out of an interpreter frame. */

#include "frame_reader.h"

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
