/* An output file fed from a memory buffer. */

#include "output_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY    /* ZSTD_c_literalCompressionMode */
#include <zstd.h>

/* Return 0 or the errno of the failed write. */
static int
write_all(int fd, const char *data, size_t len, long long *written)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data += n;
        len -= (size_t)n;
        *written += n;
    }
    return 0;
}

int
stream_open(OutputStream *s, const char *folder, const char *name, int compressed)
{
    memset(s, 0, sizeof(*s));
    s->compressed = compressed;
    char path[4200];
    if (snprintf(path, sizeof(path), "%s/%s", folder, name) >= (int)sizeof(path)) {
        s->fd = -1;
        errno = ENAMETOOLONG;
        return -1;
    }
    s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return s->fd < 0 ? -1 : 0;
}

void
stream_open_chunked(OutputStream *s, CtfsContainer *c, int file)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->compressed = 1;
    s->container = c;
    s->container_file = file;
}

/* zstd level 1: the fastest positive level, and the chunks still shrink
   10-150 times.  Frames carry no checksum: hashing every byte cost a third
   of this thread's work (XXH64; nbody under callgrind).  Damage to a
   frame's sizes or entropy-coded parts still fails to decode; damage to
   its literal bytes goes unnoticed.  Literals (the bytes no earlier match
   covers) are stored as they are: Huffman-coding them took a sixth of the
   thread's time (zstd -b1 on recorded events: 4.5-5.5 GB/s, 5.1-6.6 GB/s
   without) and saved 4-19% of the file.  A libzstd without the parameter
   still compresses them. */
#define CHUNK_COMPRESSION_LEVEL 1

static ZSTD_CCtx *
new_compressor(void)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (cctx != NULL &&
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
                                            CHUNK_COMPRESSION_LEVEL)))
    {
        ZSTD_freeCCtx(cctx);
        cctx = NULL;
    }
    if (cctx != NULL) {
        (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
    }
    return cctx;
}

/* A chunk of events.log: compressed size u32, record count u32, first
   record u64 (all little-endian), then the frame. */
#define CHUNK_HEADER_SIZE 16

static void
put_chunk_header(char *header, size_t size, long long first, long long records)
{
    ctfs_store_le(header, size, 4);
    ctfs_store_le(header + 4, (uint64_t)records, 4);
    ctfs_store_le(header + 8, (uint64_t)first, 8);
}

/* Write a buffer of `records` records, the first numbered `first`: as it
   is, or as a zstd frame that states its content size (in a chunk if the
   stream is in a container).  `cctx` and `frame` belong to the calling
   thread.  Return 0 or an errno. */
static int
write_buffer(OutputStream *s, const JsonBuffer *buffer, long long first,
             long long records, ZSTD_CCtx *cctx, JsonBuffer *frame,
             long long *written)
{
    if (!s->compressed) {
        return write_all(s->fd, buffer->data, buffer->len, written);
    }
    size_t header = s->container != NULL ? CHUNK_HEADER_SIZE : 0;
    size_t bound = ZSTD_compressBound(buffer->len);
    frame->len = 0;
    if (cctx == NULL || jb_reserve(frame, header + bound) < 0) {
        frame->failed = 0;
        return ENOMEM;
    }
    size_t size = ZSTD_compress2(cctx, frame->data + header, bound, buffer->data,
                                 buffer->len);
    if (ZSTD_isError(size)) {
        return EIO;
    }
    if (s->container == NULL) {
        return write_all(s->fd, frame->data, size, written);
    }
    put_chunk_header(frame->data, size, first, records);
    *written += (long long)(header + size);
    return ctfs_append(s->container, s->container_file, frame->data, header + size);
}

/* The writer thread and its queue of buffers to write, in order.  The
   program's thread waits when MAX_QUEUED buffers are queued; written
   buffers are kept as spares for the next ones. */
#define BUFFER_SIZE ((1 << 20) + (1 << 16))     /* the threshold, and room */
#define MAX_QUEUED 4

typedef struct Job {
    OutputStream *stream;
    JsonBuffer buffer;
    long long first;             /* number of its first record */
    long long records;
    struct Job *next;
} Job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_queued = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work_done = PTHREAD_COND_INITIALIZER;
static Job *queue_head, *queue_tail;
static int pending;               /* queued or being written */
static JsonBuffer spares[MAX_QUEUED];
static int nspares;
static int writer_running, writer_stopping;
static pthread_t writer;

static void *
writer_main(void *unused)
{
    ZSTD_CCtx *cctx = new_compressor();
    JsonBuffer frame = {0};
    pthread_mutex_lock(&lock);
    for (;;) {
        while (queue_head == NULL && !writer_stopping) {
            pthread_cond_wait(&work_queued, &lock);
        }
        if (queue_head == NULL) {
            break;
        }
        Job *job = queue_head;
        queue_head = job->next;
        if (queue_head == NULL) {
            queue_tail = NULL;
        }
        OutputStream *s = job->stream;
        int failed = s->write_error;
        pthread_mutex_unlock(&lock);

        long long written = 0;
        int err = failed ? 0 : write_buffer(s, &job->buffer, job->first, job->records,
                                            cctx, &frame, &written);

        pthread_mutex_lock(&lock);
        s->bytes_written += written;
        if (err && !s->write_error) {
            s->write_error = err;
        }
        if (nspares < MAX_QUEUED) {
            job->buffer.len = 0;
            spares[nspares++] = job->buffer;
        }
        else {
            jb_free(&job->buffer);      /* PyMem_Raw*: no GIL needed */
        }
        free(job);
        pending--;
        pthread_cond_broadcast(&work_done);
    }
    pthread_mutex_unlock(&lock);
    ZSTD_freeCCtx(cctx);
    jb_free(&frame);
    return NULL;
}

/* Called with the lock held.  The thread blocks every signal, so that
   signals keep reaching the program's threads: a Ctrl-C must still
   interrupt the main thread's sleep() or input(). */
static int
start_writer(void)
{
    if (!writer_running) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        writer_stopping = 0;
        writer_running = pthread_create(&writer, NULL, writer_main, NULL) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    return writer_running;
}

/* Write synchronously: no thread could be started. */
static void
write_now(OutputStream *s)
{
    if (!s->write_error) {
        ZSTD_CCtx *cctx = s->compressed ? new_compressor() : NULL;
        JsonBuffer frame = {0};
        s->write_error = write_buffer(s, &s->out, s->records, s->buffered_records,
                                      cctx, &frame, &s->bytes_written);
        ZSTD_freeCCtx(cctx);
        jb_free(&frame);
    }
    s->records += s->buffered_records;
    s->buffered_records = 0;
    s->out.len = 0;
}

void
stream_flush(OutputStream *s)
{
    if (s->before_handover != NULL && s->out.len > 0) {
        s->before_handover(s->handover_arg);
    }
    if (s->out.failed && !s->io_error) {
        s->io_error = ENOMEM;
    }
    if (s->io_error || (s->fd < 0 && s->container == NULL) || s->out.len == 0) {
        s->out.len = 0;
        return;
    }
    Job *job = malloc(sizeof(Job));
    pthread_mutex_lock(&lock);
    if (job == NULL || !start_writer()) {
        pthread_mutex_unlock(&lock);
        free(job);
        write_now(s);
        return;
    }
    while (pending >= MAX_QUEUED) {
        pthread_cond_wait(&work_done, &lock);
    }
    *job = (Job){s, s->out, s->records, s->buffered_records, NULL};
    s->records += s->buffered_records;
    s->buffered_records = 0;
    if (queue_tail != NULL) {
        queue_tail->next = job;
    }
    else {
        queue_head = job;
    }
    queue_tail = job;
    pending++;
    s->out = nspares > 0 ? spares[--nspares] : (JsonBuffer){0};
    pthread_cond_signal(&work_queued);
    pthread_mutex_unlock(&lock);
    /* Large enough not to grow before the next hand-over. */
    (void)jb_reserve(&s->out, BUFFER_SIZE);
}

/* Wait until the writer thread has written everything queued. */
static void
drain(void)
{
    pthread_mutex_lock(&lock);
    while (pending > 0) {
        pthread_cond_wait(&work_done, &lock);
    }
    pthread_mutex_unlock(&lock);
}

int
stream_close(OutputStream *s)
{
    stream_flush(s);
    drain();
    if (!s->io_error) {
        s->io_error = s->write_error;
    }
    if (s->fd >= 0 && close(s->fd) < 0 && !s->io_error) {
        s->io_error = errno;
    }
    s->fd = -1;
    jb_free(&s->out);
    return s->io_error ? -1 : 0;
}

void
stream_abandon(OutputStream *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    jb_free(&s->out);
}

int
output_streams_on_writer_thread(void)
{
    return writer_running && pthread_equal(pthread_self(), writer);
}

void
output_streams_shutdown(void)
{
    pthread_mutex_lock(&lock);
    int running = writer_running;
    writer_stopping = 1;
    pthread_cond_signal(&work_queued);
    pthread_mutex_unlock(&lock);
    if (running) {
        pthread_join(writer, NULL);
    }
    pthread_mutex_lock(&lock);
    writer_running = 0;
    while (nspares > 0) {
        jb_free(&spares[--nspares]);
    }
    pthread_mutex_unlock(&lock);
}

int
write_file_atomically(const char *folder, const char *name, JsonBuffer *content)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof(path), "%s/%s", folder, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    if (content->failed) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    long long written = 0;
    int err = write_all(fd, content->data, content->len, &written);
    if (close(fd) < 0 && !err) {
        err = errno;
    }
    if (!err && rename(tmp, path) < 0) {
        err = errno;
    }
    if (err) {
        unlink(tmp);
        errno = err;
        return -1;
    }
    return 0;
}
