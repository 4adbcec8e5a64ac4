/* The Value events of a frame's locals at its last step, kept so that a
 * local that still holds the same immutable scalar (a loop's bound, a
 * counter between its changes) gets its event copied at the next step, not
 * encoded again.  The event's bytes depend on the variable and the value
 * alone, and the value is held, so no other object can take its address.
 *
 * One KeptValueEvents per open frame (recorder.h's OpenFrame), one entry
 * per local slot of the frame's code. */

#ifndef CTRECORD_KEPT_VALUE_EVENTS_H
#define CTRECORD_KEPT_VALUE_EVENTS_H

#include "trace_writer.h"
#include "value_encoder.h"

/* Room for a Value event of a number, a short str, None or a bool, in one
   64-byte entry. */
#define KEPT_EVENT_MAX TW_SHORT_EVENT_MAX

typedef struct {
    PyObject *value;             /* held; NULL: nothing kept */
    uint8_t len;
    char event[KEPT_EVENT_MAX];
} KeptValueEvent;

typedef struct {
    KeptValueEvent *locals;
    int count;                   /* the slots of the frame's code, or 0 */
    int capacity;
} KeptValueEvents;

/* Drop what `kept` holds: its frame is gone. */
static inline void
kept_events_release(KeptValueEvents *kept)
{
    for (int i = 0; i < kept->count; i++) {
        Py_CLEAR(kept->locals[i].value);
    }
    kept->count = 0;
}

/* Make `kept` ready for a frame of `nslots` locals, with nothing kept; it
   stays empty (count 0) if memory runs out. */
static inline void
kept_events_reset(KeptValueEvents *kept, int nslots)
{
    kept_events_release(kept);
    if (nslots > kept->capacity) {
        KeptValueEvent *grown = PyMem_RawRealloc(kept->locals,
                                                 (size_t)nslots * sizeof(KeptValueEvent));
        if (grown == NULL) {
            return;
        }
        kept->locals = grown;
        kept->capacity = nslots;
    }
    for (int i = 0; i < nslots; i++) {
        kept->locals[i].value = NULL;
    }
    kept->count = nslots;
}

static inline void
kept_events_free(KeptValueEvents *kept)
{
    kept_events_release(kept);
    PyMem_RawFree(kept->locals);
    kept->locals = NULL;
    kept->capacity = 0;
}

/* Copy the event kept for a local that holds `value` now; 0 if there is
   none to copy. */
static inline int
kept_event_put(TraceWriter *w, const KeptValueEvent *kept, PyObject *value)
{
    return kept->value == value && tw_copy_short_event(w, kept->event, kept->len);
}

/* Keep the Value event just written for a local holding `value`, if it is
   an immutable scalar and the event is in `w`'s buffer whole. */
static inline void
kept_event_take(TraceWriter *w, KeptValueEvent *kept, PyObject *value)
{
    const JsonBuffer *out = &w->stream.out;
    size_t len = out->len - w->value_event_start;
    if (out->failed || len > KEPT_EVENT_MAX || !value_is_immutable_scalar(value)) {
        Py_CLEAR(kept->value);
        return;
    }
    memcpy(kept->event, out->data + w->value_event_start, len);
    kept->len = (uint8_t)len;
    Py_XSETREF(kept->value, Py_NewRef(value));
}

#endif
