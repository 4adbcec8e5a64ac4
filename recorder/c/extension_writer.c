/* Streaming writer of trace_extension.jsonl. */

#include "extension_writer.h"

#include <unistd.h>

int
ext_open(ExtensionWriter *x, const char *folder, int compressed)
{
    memset(x, 0, sizeof(*x));
    const char *name = compressed ? COMPRESSED_EXTENSION_FILE_NAME : EXTENSION_FILE_NAME;
    const char *other = compressed ? EXTENSION_FILE_NAME : COMPRESSED_EXTENSION_FILE_NAME;
    if (stream_open(&x->stream, folder, name, compressed) < 0) {
        return -1;
    }
    char path[4200];
    if (snprintf(path, sizeof(path), "%s/%s", folder, other) < (int)sizeof(path)) {
        (void)unlink(path);
    }
    JsonBuffer *out = &x->stream.out;
    JB_LITERAL(out, "[\"format\",\"python-ct-extension\",");
    jb_int(out, EXTENSION_FORMAT_VERSION);
    JB_LITERAL(out, "]\n");
    return 0;
}

int
ext_close(ExtensionWriter *x)
{
    return stream_close(&x->stream);
}

void
ext_abandon(ExtensionWriter *x)
{
    stream_abandon(&x->stream);
}

/* `["tag",` of each tag, padded so that a copy of constant size (a few
   moves, where one of variable size is a call) reads it. */
#define RECORD_HEAD_SIZE 16

#define RECORD_HEAD(tag) {"[\"" tag "\",", sizeof("[\"" tag "\",") - 1}

static const struct {
    char text[RECORD_HEAD_SIZE];
    uint8_t len;
} RECORD_HEADS[] = {
    [EXT_VALUE] = RECORD_HEAD("value"),
    [EXT_ASSIGN] = RECORD_HEAD("assign"),
    [EXT_DELETE] = RECORD_HEAD("delete"),
    [EXT_EXCEPTION] = RECORD_HEAD("exception"),
};

void
ext_begin(ExtensionWriter *x, ExtensionTag tag, long long step)
{
    JsonBuffer *out = &x->stream.out;
    /* The head, then the step's text (copied 64 bytes at a time, as
       jb_put_small() does), under one reservation: a second check of
       room cost 0.4% of numeric_loop's instructions with everything on. */
    if (out->len + RECORD_HEAD_SIZE + sizeof(x->step_text) > out->cap &&
        jb_reserve(out, RECORD_HEAD_SIZE + sizeof(x->step_text)) < 0)
    {
        return;
    }
    memcpy(out->data + out->len, RECORD_HEADS[tag].text, RECORD_HEAD_SIZE);
    out->len += RECORD_HEADS[tag].len;
    if (step == x->step + 1 && x->step >= 0 && x->step_len > 0) {
        /* The next step, mostly: its text is the last one's plus one. */
        int i = x->step_len - 1;
        while (i >= 0 && x->step_text[i] == '9') {
            x->step_text[i--] = '0';
        }
        if (i >= 0) {
            x->step_text[i]++;
        }
        else {
            memmove(x->step_text + 1, x->step_text, (size_t)x->step_len++);
            x->step_text[0] = '1';
        }
        x->step = step;
    }
    else if (step != x->step || x->step_len == 0) {
        JsonBuffer text = {.data = x->step_text, .cap = sizeof(x->step_text)};
        jb_int(&text, step);
        x->step = step;
        x->step_len = (int)text.len;
    }
    memcpy(out->data + out->len, x->step_text, sizeof(x->step_text));
    out->len += (size_t)x->step_len;
}

void
ext_int(ExtensionWriter *x, long long v)
{
    jb_putc(&x->stream.out, ',');
    jb_int(&x->stream.out, v);
}

void
ext_text(ExtensionWriter *x, const char *utf8, size_t len)
{
    jb_putc(&x->stream.out, ',');
    jb_utf8_string(&x->stream.out, utf8, len);
}

JsonBuffer *
ext_field(ExtensionWriter *x)
{
    jb_putc(&x->stream.out, ',');
    return &x->stream.out;
}

void
ext_string_body(ExtensionWriter *x, const char *body, size_t len)
{
    JsonBuffer *out = &x->stream.out;
    JB_LITERAL(out, ",\"");
    jb_put(out, body, len);
    jb_putc(out, '"');
}

void
ext_end(ExtensionWriter *x)
{
    JB_LITERAL(&x->stream.out, "]\n");
    x->records++;
    stream_event_done(&x->stream);
}

int
ext_site(ExtensionWriter *x, const char *kind, const char *op,
         Py_ssize_t function_id, Py_ssize_t path_id, SourceRange range,
         PyObject *target)
{
    int id = x->next_site++;
    JsonBuffer *out = &x->stream.out;
    JB_LITERAL(out, "[\"site\",");
    jb_int(out, id);
    ext_text(x, kind, strlen(kind));
    ext_text(x, op, strlen(op));
    ext_int(x, function_id);
    ext_int(x, path_id);
    ext_int(x, range.line);
    ext_int(x, range.column);
    ext_int(x, range.end_line);
    ext_int(x, range.end_column);
    jb_putc(out, ',');
    if (target != NULL) {
        jb_unicode_string(out, target, PY_SSIZE_T_MAX);
    }
    else {
        JB_LITERAL(out, "null");
    }
    ext_end(x);
    return id;
}
