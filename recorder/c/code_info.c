/* What the recorder knows about each code object. */

#include "code_info.h"

#include "quiet_lines.h"

/* The ids a code object has in one thread's trace, while another
   thread's are current. */
typedef struct TraceIds {
    int serial;
    Py_ssize_t path_id;
    Py_ssize_t function_id;
    Py_ssize_t *varname_ids;
    int *site_ids;
    struct TraceIds *next;
} TraceIds;

static Py_ssize_t extra_index = -1;
static PyObject *skipped_prefixes;   /* tuple of str, each ending with "/" */
static PyObject *recorded_pseudo_file;
static PyObject *program_codes;   /* addresses of the -c/stdin code objects */

static void
free_code_info(void *ptr)
{
    CodeInfo *info = ptr;
    if (info != NULL) {
        PyMem_Free(info->varname_ids);
        PyMem_Free(info->site_ids);
        PyMem_Free(info->probes);
        quiet_lines_free(info);
        while (info->other_traces != NULL) {
            TraceIds *saved = info->other_traces;
            info->other_traces = saved->next;
            PyMem_Free(saved->varname_ids);
            PyMem_Free(saved->site_ids);
            PyMem_Free(saved);
        }
        PyMem_Free(info);
    }
}

static PyObject *
with_trailing_slash(PyObject *dir)
{
    if (PyUnicode_GET_LENGTH(dir) > 0 &&
        PyUnicode_READ_CHAR(dir, PyUnicode_GET_LENGTH(dir) - 1) == '/')
    {
        return Py_NewRef(dir);
    }
    return PyUnicode_FromFormat("%U/", dir);
}

int
code_info_configure(PyObject *stdlib_dir, PyObject *prefix, PyObject *main_pseudo_file)
{
    if (extra_index < 0) {
        extra_index = PyUnstable_Eval_RequestCodeExtraIndex(free_code_info);
        if (extra_index < 0) {
            PyErr_SetString(PyExc_RuntimeError, "no free co_extra slot");
            return -1;
        }
    }
    /* The standard library, and everything installed into the
       interpreter's prefix, python-ct's own tools included. */
    PyObject *stdlib = with_trailing_slash(stdlib_dir);
    PyObject *installed = stdlib ? PyUnicode_FromFormat("%U/lib/", prefix) : NULL;
    if (installed == NULL) {
        Py_XDECREF(stdlib);
        return -1;
    }
    Py_XSETREF(skipped_prefixes, PyTuple_Pack(2, stdlib, installed));
    Py_DECREF(stdlib);
    Py_DECREF(installed);
    Py_XSETREF(recorded_pseudo_file, Py_XNewRef(main_pseudo_file));
    return skipped_prefixes ? 0 : -1;
}

void
code_info_clear_configuration(void)
{
    Py_CLEAR(skipped_prefixes);
    Py_CLEAR(recorded_pseudo_file);
    Py_CLEAR(program_codes);
}

static int
contains_ascii(PyObject *str, const char *needle)
{
    PyObject *sub = PyUnicode_FromString(needle);
    if (sub == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t found = PyUnicode_Find(str, sub, 0, PY_SSIZE_T_MAX, 1);
    Py_DECREF(sub);
    PyErr_Clear();
    return found >= 0;
}

static int
add_program_codes(PyCodeObject *code)
{
    PyObject *address = PyLong_FromVoidPtr(code);
    if (address == NULL || PySet_Add(program_codes, address) < 0) {
        Py_XDECREF(address);
        return -1;
    }
    Py_DECREF(address);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(code->co_consts); i++) {
        PyObject *constant = PyTuple_GET_ITEM(code->co_consts, i);
        if (PyCode_Check(constant) && add_program_codes((PyCodeObject *)constant) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
is_user_code(PyCodeObject *code)
{
    PyObject *filename = code->co_filename;
    if (!PyUnicode_Check(filename) || PyUnicode_GET_LENGTH(filename) == 0) {
        return 0;
    }
    if (PyUnicode_READ_CHAR(filename, 0) == '<') {
        /* Frozen modules, exec()'d strings, generated code: no source. */
        if (recorded_pseudo_file == NULL ||
            PyUnicode_Compare(filename, recorded_pseudo_file) != 0)
        {
            PyErr_Clear();
            return 0;
        }
        /* Code that namedtuple or dataclasses compile is named "<string>"
           too.  The program's module code is the first to run; it and the
           code objects nested in its constants are the program's. */
        if (program_codes == NULL) {
            program_codes = PySet_New(NULL);
            if (program_codes == NULL || add_program_codes(code) < 0) {
                PyErr_Clear();
                return 0;
            }
        }
        PyObject *address = PyLong_FromVoidPtr(code);
        int found = address ? PySet_Contains(program_codes, address) : -1;
        Py_XDECREF(address);
        PyErr_Clear();
        return found == 1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(skipped_prefixes); i++) {
        int match = PyUnicode_Tailmatch(filename, PyTuple_GET_ITEM(skipped_prefixes, i),
                                        0, PY_SSIZE_T_MAX, -1);
        if (match != 0) {
            PyErr_Clear();
            return 0;
        }
    }
    return !contains_ascii(filename, "/site-packages/") &&
           !contains_ascii(filename, "/dist-packages/");
}

CodeInfo *
code_info_get(PyCodeObject *code)
{
    void *ptr = NULL;
    if (PyUnstable_Code_GetExtra((PyObject *)code, extra_index, &ptr) < 0) {
        return NULL;
    }
    if (ptr != NULL) {
        return ptr;
    }
    CodeInfo *info = PyMem_Calloc(1, sizeof(CodeInfo));
    if (info == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    info->recorded = is_user_code(code);
    info->serial = -1;
    if (PyUnstable_Code_SetExtra((PyObject *)code, extra_index, info) < 0) {
        PyMem_Free(info);
        return NULL;
    }
    return info;
}

void
code_info_switch_ids(CodeInfo *info, int serial)
{
    TraceIds *current = info->serial >= 0 ? PyMem_Malloc(sizeof(TraceIds)) : NULL;
    if (current != NULL) {
        *current = (TraceIds){info->serial, info->path_id, info->function_id,
                              info->varname_ids, info->site_ids, info->other_traces};
        info->other_traces = current;
    }
    else {
        PyMem_Free(info->varname_ids);
        PyMem_Free(info->site_ids);
    }
    info->serial = serial;
    info->path_id = -1;
    info->function_id = -1;
    info->varname_ids = NULL;
    info->site_ids = NULL;
    for (TraceIds **link = &info->other_traces; *link != NULL; link = &(*link)->next) {
        TraceIds *saved = *link;
        if (saved->serial == serial) {
            info->path_id = saved->path_id;
            info->function_id = saved->function_id;
            info->varname_ids = saved->varname_ids;
            info->site_ids = saved->site_ids;
            *link = saved->next;
            PyMem_Free(saved);
            return;
        }
    }
}
