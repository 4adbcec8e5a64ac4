/* Streaming writer of trace_extension.jsonl, the record of what trace.json
 * cannot hold for CodeTracer yet: assignments, subexpression values and
 * exception events.  One JSON array per line, tied to trace.json by step
 * index; docs/trace-extension.md specifies the records.  ValueRecords use
 * the type ids of the trace.json beside it. */

#ifndef CTRECORD_EXTENSION_WRITER_H
#define CTRECORD_EXTENSION_WRITER_H

#include "output_stream.h"

#define EXTENSION_FILE_NAME "trace_extension.jsonl"
/* The same, zstd-compressed: beside a trace.ct. */
#define COMPRESSED_EXTENSION_FILE_NAME "trace_extension.jsonl.zst"
#define EXTENSION_FORMAT_VERSION 1

typedef struct {
    OutputStream stream;
    long long records;
    int next_site;
    /* The step the last record began with, as text: a step's records
       mostly come in a row. */
    long long step;
    char step_text[64];          /* read 64 bytes at a time */
    int step_len;
} ExtensionWriter;

/* Create the extension file in `folder`, compressed or not; remove the
   other one, which would belong to an earlier recording. */
int ext_open(ExtensionWriter *x, const char *folder, int compressed);
int ext_close(ExtensionWriter *x);
void ext_abandon(ExtensionWriter *x);

/* Source positions as co_positions() gives them. */
typedef struct {
    int line, column, end_line, end_column;
} SourceRange;

/* Define a site: ["site", id, kind, op, function_id, path_id, line, column,
   end_line, end_column, target].  `target` may be NULL.  Returns its id. */
int ext_site(ExtensionWriter *x, const char *kind, const char *op,
             Py_ssize_t function_id, Py_ssize_t path_id, SourceRange range,
             PyObject *target);

/* The tags of the records that follow the site definitions. */
typedef enum {
    EXT_VALUE,
    EXT_ASSIGN,
    EXT_DELETE,
    EXT_EXCEPTION,
} ExtensionTag;

/* A record is ["tag", step, fields...]: begin, add fields, end. */
void ext_begin(ExtensionWriter *x, ExtensionTag tag, long long step);
void ext_int(ExtensionWriter *x, long long v);
void ext_text(ExtensionWriter *x, const char *utf8, size_t len);
/* Start a field and return the buffer to write its JSON into (a
   ValueRecord is encoded there directly). */
JsonBuffer *ext_field(ExtensionWriter *x);
/* A JSON string body, as a string field. */
void ext_string_body(ExtensionWriter *x, const char *body, size_t len);
void ext_end(ExtensionWriter *x);

#endif
