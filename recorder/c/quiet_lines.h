/* Quiet lines: lines whose run changes no object.
 *
 * A line is quiet if it only moves references between the frame's local
 * slots and its stack, takes the next item of a list, tuple or range
 * iterator, or adds, subtracts, multiplies, negates or compares ints or
 * floats, with no other monitoring tool watching.  None of that runs Python
 * code, checks the eval breaker (so no other thread, signal handler or
 * garbage collection runs in between), raises, or frees anything but an
 * immutable scalar, so no container's address is reused either.  After a
 * step on a quiet line, the next event of the frame's thread is the step
 * of its next line, and every object is as that step finds it: what the
 * value encoder found current there still is (encode_group_begin()).
 *
 * Whether a line is quiet depends on the values it meets (the types of its
 * operands, the references its stores drop, the state of its iterator), so
 * each step checks its line's few instructions against the frame.  The
 * instructions are read from the code object once per line. */

#ifndef CTRECORD_QUIET_LINES_H
#define CTRECORD_QUIET_LINES_H

#include "Python.h"
#include "pycore_frame.h"         // _PyInterpreterFrame

#include "code_info.h"

/* Whether the line whose LINE event fired at code unit `unit` of `frame`
   is quiet, about to run from there with the frame as it is now.  An
   out-of-memory error is cleared and answers "no". */
int quiet_line(CodeInfo *info, _PyInterpreterFrame *frame, int unit);

/* Free what quiet_line() keeps in `info`. */
void quiet_lines_free(CodeInfo *info);

#endif
