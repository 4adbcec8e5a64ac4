/* Reading arguments and visible variables out of an interpreter frame.
 *
 * Only the frame's own storage is read (fast locals, cells, the namespace
 * dict of module and class bodies); no mapping protocol or descriptor of
 * user code is involved. */

#ifndef CTRECORD_FRAME_READER_H
#define CTRECORD_FRAME_READER_H

#include "Python.h"
#include "pycore_code.h"          // _PyLocals_GetKind(), CO_FAST_*
#include "pycore_frame.h"         // _PyInterpreterFrame

/* Number of leading localsplus slots that hold parameters: positional,
   keyword-only, *args and **kwargs. */
int frame_parameter_count(PyCodeObject *code);

/* The value in localsplus slot `i` (cells dereferenced), or NULL if unbound.
   Borrowed.  Inline: a step reads every slot. */
static inline PyObject *
frame_slot_value(_PyInterpreterFrame *frame, int i)
{
    PyObject *value = frame->localsplus[i];
    if (value == NULL) {
        return NULL;
    }
    _PyLocals_Kind kind = _PyLocals_GetKind(_PyFrame_GetCode(frame)->co_localspluskinds, i);
    /* A cell slot holds the raw value until MAKE_CELL has run. */
    if ((kind & (CO_FAST_CELL | CO_FAST_FREE)) && PyCell_Check(value)) {
        return PyCell_GET(value);
    }
    return value;
}

/* The namespace dict that holds this frame's variables (module globals,
   class body), or NULL if its variables are fast locals. */
PyObject *frame_namespace(_PyInterpreterFrame *frame);

/* Whether a namespace entry is shown as a variable: not a dunder, module,
   function or class. */
int namespace_entry_is_shown(PyObject *name, PyObject *value);

/* Whether a fast local is shown: not a compiler-internal name like ".0". */
int slot_is_shown(PyCodeObject *code, int i);

#endif
