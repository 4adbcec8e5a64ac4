/* An output file fed from a memory buffer.
 *
 * The recorder's writers append to `out` and call stream_event_done() after
 * each record; the buffer goes to the file once it holds FLUSH_THRESHOLD
 * bytes, so memory stays bounded whatever the trace length.  The first
 * failed write is remembered in io_error and later writes are skipped. */

#ifndef CTRECORD_OUTPUT_STREAM_H
#define CTRECORD_OUTPUT_STREAM_H

#include "json_buffer.h"

typedef struct {
    int fd;
    JsonBuffer out;              /* not yet written to fd */
    long long bytes_written;
    int io_error;                /* errno of the first failed write, or 0 */
} OutputStream;

/* Create folder/name.  On failure return -1 with errno set. */
int stream_open(OutputStream *s, const char *folder, const char *name);
void stream_flush(OutputStream *s);

static inline void
stream_event_done(OutputStream *s)
{
    if (s->out.len >= (1 << 20)) {
        stream_flush(s);
    }
}

/* Flush and close.  Return -1 if any write failed (errno in io_error). */
int stream_close(OutputStream *s);
/* Close without writing what is buffered (a forked child must not write). */
void stream_abandon(OutputStream *s);

/* Write `content` to folder/name atomically (via a temporary file). */
int write_file_atomically(const char *folder, const char *name, JsonBuffer *content);

#endif
