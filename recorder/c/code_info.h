/* What the recorder knows about each code object.
 *
 * Stored in the code object's co_extra slot, so it is found in O(1) from a
 * frame and freed with the code object.  Whether a code object is recorded
 * (user code) is decided once, from its file name. */

#ifndef CTRECORD_CODE_INFO_H
#define CTRECORD_CODE_INFO_H

#include "Python.h"

typedef struct CodeInfo_ {
    int recorded;               /* user code */
    int local_events_set;
    /* Per code unit: the probe of the instruction starting there
       (code_sites.h); NULL if no probes are wanted. */
    struct Probe_ *probes;
    Py_ssize_t ncodeunits;
    /* The ids below belong to the trace of this ThreadRecording serial;
       those of other threads' traces wait in other_traces. */
    int serial;
    Py_ssize_t path_id;
    Py_ssize_t function_id;
    Py_ssize_t *varname_ids;    /* per localsplus slot, or one of: */
#define VARNAME_NOT_INTERNED (-1)
#define VARNAME_NOT_SHOWN (-2)
    int *site_ids;              /* per code unit and site role; -1 = none yet */
    struct QuietLines_ *quiet_lines;    /* quiet_lines.h; NULL until used */
    struct TraceIds *other_traces;
} CodeInfo;

/* Rules for what is user code.  `stdlib_dir` and `prefix` are skipped;
   `main_pseudo_file` (e.g. "<string>" for -c) is the one pseudo-file name
   ("<...>") that is recorded.  Return -1 with an exception set on failure. */
int code_info_configure(PyObject *stdlib_dir, PyObject *prefix,
                        PyObject *main_pseudo_file);
void code_info_clear_configuration(void);

/* The info of `code`, created and classified on first use.  NULL on
   memory error (exception set). */
CodeInfo *code_info_get(PyCodeObject *code);

void code_info_switch_ids(CodeInfo *info, int serial);

/* Make the cached ids those of the trace with this serial (each thread's
   trace has its own). */
static inline void
code_info_sync(CodeInfo *info, int serial)
{
    if (info->serial != serial) {
        code_info_switch_ids(info, serial);
    }
}

#endif
