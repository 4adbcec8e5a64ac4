/* An output file fed from a memory buffer. */

#include "output_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

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
stream_open(OutputStream *s, const char *folder, const char *name)
{
    memset(s, 0, sizeof(*s));
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
stream_flush(OutputStream *s)
{
    if (s->out.failed && !s->io_error) {
        s->io_error = ENOMEM;
    }
    if (!s->io_error && s->fd >= 0) {
        s->io_error = write_all(s->fd, s->out.data, s->out.len, &s->bytes_written);
    }
    s->out.len = 0;
}

int
stream_close(OutputStream *s)
{
    stream_flush(s);
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
