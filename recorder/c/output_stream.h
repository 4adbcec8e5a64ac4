/* An output file fed from a memory buffer.
 *
 * The recorder's writers append to `out` and call stream_event_done() after
 * each record.  Once the buffer holds 1 MB it is handed to a background
 * thread that writes it to the file, so the program's thread goes on while
 * the kernel copies the data (on another core); at most a few buffers are
 * queued, so memory stays bounded whatever the trace length.  The first
 * failed write is remembered and later writes are skipped.
 *
 * The background thread can also compress each buffer into a zstd frame
 * (the file is then a zstd stream of frames), or into one chunk of a CTFS
 * container's events.log (a 16-byte header, then the frame); buffers end
 * on records. */

#ifndef CTRECORD_OUTPUT_STREAM_H
#define CTRECORD_OUTPUT_STREAM_H

#include "json_buffer.h"
#include "ctfs_container.h"

typedef struct {
    int fd;                      /* -1 if none */
    int compressed;              /* each buffer is one zstd frame */
    CtfsContainer *container;    /* or the file `container_file` in this */
    int container_file;
    long long records;           /* handed over so far */
    long long buffered_records;  /* in `out` */
    JsonBuffer out;              /* not yet handed to the writer thread */
    long long bytes_written;     /* read once the stream is closed */
    int io_error;                /* errno of the first failure, or 0; final
                                    once the stream is closed */
    int write_error;             /* the writer thread's failure, or 0 */
    /* Called before `out` is handed over or emptied, while its bytes are
       still there (NULL: nothing to do). */
    void (*before_handover)(void *arg);
    void *handover_arg;
} OutputStream;

/* Create folder/name, a zstd stream if `compressed`.  On failure return
   -1 with errno set. */
int stream_open(OutputStream *s, const char *folder, const char *name, int compressed);
/* A stream of zstd chunks into file `file` of `c` (created empty). */
void stream_open_chunked(OutputStream *s, CtfsContainer *c, int file);
void stream_flush(OutputStream *s);

static inline void
stream_event_done(OutputStream *s)
{
    s->buffered_records++;
    /* Hand `out` over once it holds 1 MB. */
    if (s->out.len >= (1 << 20)) {
        stream_flush(s);
    }
}

/* Flush and close (a chunked stream's container stays open).  Return -1
   if any write failed (errno in io_error). */
int stream_close(OutputStream *s);
/* Close without writing what is buffered (a forked child must not write;
   the writer thread does not exist there). */
void stream_abandon(OutputStream *s);

/* Whether the caller is the writer thread. */
int output_streams_on_writer_thread(void);

/* Stop the writer thread once every stream is closed. */
void output_streams_shutdown(void);

/* Write `content` to folder/name atomically (via a temporary file). */
int write_file_atomically(const char *folder, const char *name, JsonBuffer *content);

#endif
