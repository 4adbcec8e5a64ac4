/* Which instructions of a code object the recorder probes, and the sites
 * they are recorded as.
 *
 * The recorder takes stores and subexpression values from INSTRUCTION
 * events, which fire before an instruction runs.  Reading the bytecode once
 * per code object, each instruction gets its probe roles:
 *   PROBE_STORE, PROBE_DELETE  it is a STORE_* or DELETE_*: the value about
 *                              to be stored (and the key or attribute
 *                              owner) is on the value stack;
 *   PROBE_VALUE                the instruction before it produces a value
 *                              (a call, an operator, an attribute or
 *                              subscript load, a display, an f-string part,
 *                              the value sent into a yield), so when
 *                              execution falls through from there, that
 *                              value is the top of the stack.
 * Where execution can also arrive by a jump (the end of a conditional
 * expression or of an and/or), the jumps are probed too and mark the
 * arrival, so that the value is only taken after a fall-through.  Exception
 * handler entries are never probed.  A comprehension's result is taken
 * where its loop ends.  Every other instruction's INSTRUCTION event is
 * disabled the first time it fires, so it runs at full speed afterwards.
 *
 * A site is what the extension file names: a probe role at one instruction,
 * with its source range and, for stores, the target's text. */

#ifndef CTRECORD_CODE_SITES_H
#define CTRECORD_CODE_SITES_H

#include "recorder.h"
#include "code_info.h"

enum {
    PROBE_STORE = 1,
    PROBE_DELETE = 2,
    PROBE_VALUE = 4,
    /* A jump target whose fall-through predecessor produces a value: the
       value is recorded only if execution did not arrive by a jump. */
    PROBE_MERGE = 8,
    /* A jump into a PROBE_MERGE: tells it, before jumping, that it does. */
    PROBE_JUMP = 16,
    /* Where the operands of an `and`/`or` meet: the top of the stack is its
       value, whichever operand it came from. */
    PROBE_BOOL_OP = 32,
};

typedef struct Probe_ {
    uint8_t roles;
    uint16_t producer_back;     /* PROBE_VALUE: code units back to the producer */
    int32_t aux;                /* PROBE_JUMP: the target; PROBE_BOOL_OP: the
                                   first instruction of the and/or */
} Probe;

/* Fill info->probes for `code`.  Return -1 with an exception set on
   memory errors. */
int code_sites_analyse(PyCodeObject *code, CodeInfo *info, int stores, int values);

enum { SITE_VALUE = 0, SITE_STORE = 1, SITE_BOOL_OP = 2, SITE_ROLES = 3 };

/* The id of the site of `role` at code unit `i` in tr's extension file,
   defined there on first use; -1 on failure.  For STORE_FAST_STORE_FAST
   the second store's site is the returned id + 1. */
int code_site_id(ThreadRecording *tr, CodeInfo *info, _PyInterpreterFrame *frame,
                 int i, int role);

#endif
