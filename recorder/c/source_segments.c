/* Source text of a range of a program's file. */

#include "source_segments.h"

static PyObject *file_lines;     /* path -> list of bytes (lines), or None */

static PyObject *
read_lines(PyObject *path)
{
    PyObject *content = NULL;
    /* Plain fopen(): _Py_fopen_obj() would call the program's audit hooks. */
    PyObject *encoded = PyUnicode_EncodeFSDefault(path);
    FILE *f = encoded ? fopen(PyBytes_AS_STRING(encoded), "rb") : NULL;
    Py_XDECREF(encoded);
    if (f != NULL) {
        PyObject *chunks = PyList_New(0);
        char buffer[8192];
        size_t n;
        while (chunks != NULL && (n = fread(buffer, 1, sizeof(buffer), f)) > 0) {
            PyObject *chunk = PyBytes_FromStringAndSize(buffer, (Py_ssize_t)n);
            if (chunk == NULL || PyList_Append(chunks, chunk) < 0) {
                Py_CLEAR(chunks);
            }
            Py_XDECREF(chunk);
        }
        fclose(f);
        if (chunks != NULL) {
            PyObject *empty = PyBytes_FromStringAndSize("", 0);
            content = empty ? _PyBytes_Join(empty, chunks) : NULL;
            Py_XDECREF(empty);
            Py_DECREF(chunks);
        }
    }
    PyObject *lines = content ? PyObject_CallMethod(content, "splitlines", "i", 1) : NULL;
    Py_XDECREF(content);
    PyErr_Clear();
    return lines ? lines : Py_NewRef(Py_None);
}

static PyObject *
lines_of(PyObject *path)
{
    if (file_lines == NULL && (file_lines = PyDict_New()) == NULL) {
        return NULL;
    }
    PyObject *lines = PyDict_GetItemWithError(file_lines, path);
    if (lines != NULL) {
        return lines;
    }
    lines = read_lines(path);
    int stored = PyDict_SetItem(file_lines, path, lines);
    Py_DECREF(lines);
    return stored < 0 ? NULL : lines;
}

PyObject *
source_segment(PyObject *path, SourceRange r)
{
    PyObject *lines = lines_of(path);
    if (lines == NULL || !PyList_Check(lines) || r.line < 1 || r.end_line < r.line ||
        r.end_line > PyList_GET_SIZE(lines) || r.column < 0 || r.end_column < 0)
    {
        PyErr_Clear();
        return NULL;
    }
    PyObject *pieces = PyList_New(0);
    for (int line = r.line; pieces != NULL && line <= r.end_line; line++) {
        PyObject *text = PyList_GET_ITEM(lines, line - 1);
        Py_ssize_t size = PyBytes_GET_SIZE(text);
        Py_ssize_t start = line == r.line ? r.column : 0;
        Py_ssize_t end = line == r.end_line ? r.end_column : size;
        if (start > size || end > size || start > end) {
            Py_CLEAR(pieces);
            break;
        }
        PyObject *piece = PyBytes_FromStringAndSize(PyBytes_AS_STRING(text) + start, end - start);
        if (piece == NULL || PyList_Append(pieces, piece) < 0) {
            Py_CLEAR(pieces);
        }
        Py_XDECREF(piece);
    }
    PyObject *segment = NULL;
    if (pieces != NULL) {
        PyObject *empty = PyBytes_FromStringAndSize("", 0);
        PyObject *joined = empty ? _PyBytes_Join(empty, pieces) : NULL;
        if (joined != NULL) {
            segment = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(joined),
                                           PyBytes_GET_SIZE(joined), "replace");
        }
        Py_XDECREF(joined);
        Py_XDECREF(empty);
        Py_DECREF(pieces);
    }
    PyErr_Clear();
    return segment;
}

void
source_segments_clear(void)
{
    Py_CLEAR(file_lines);
}
