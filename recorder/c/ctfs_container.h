/* Writer of a CTFS container (.ct): named files stored in 4096-byte
 * blocks of one file, as CodeTracer's readers expect (see
 * docs/trace-format.md, "trace.ct").
 *
 * Block 0 holds the header and the table of files.  Each file has a chain
 * of mapping blocks listing its data blocks; blocks are handed out in
 * order as data arrives, so files are written as they grow, in any
 * interleaving, and only one partly filled block per file is in memory. */

#ifndef CTRECORD_CTFS_CONTAINER_H
#define CTRECORD_CTFS_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CTFS_BLOCK_SIZE 4096
#define CTFS_MAX_FILES 31            /* root entries */
#define CTFS_MAX_LEVELS 5            /* of mapping blocks */

/* Store the `n` low bytes of `v` at `p`, little-endian: the byte order of
   every fixed-width field of CTFS (the container, events.log's chunk
   headers, split-binary events). */
static inline void
ctfs_store_le(void *p, uint64_t v, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* One store where n is a constant. */
    memcpy(p, &v, (size_t)n);
#else
    unsigned char *bytes = p;
    for (int i = 0; i < n; i++) {
        bytes[i] = (unsigned char)(v >> (8 * i));
    }
#endif
}

typedef struct {
    uint64_t name;                   /* base40 */
    uint64_t size;
    uint64_t blocks;                 /* data blocks allocated */
    unsigned char *tail;             /* the last, partly filled block */
    /* spine[0] is the level-1 mapping block; spine[L - 1] the level-L one
       that slot 511 of spine[L - 2] chains to (0: not allocated yet). */
    uint64_t spine[CTFS_MAX_LEVELS];
    /* child[L] is the level-L block under its parent's slot
       child_slot[L], itself under child_parent[L]: the last one used. */
    uint64_t child[CTFS_MAX_LEVELS];
    uint64_t child_parent[CTFS_MAX_LEVELS];
    uint64_t child_slot[CTFS_MAX_LEVELS];
} CtfsFile;

typedef struct {
    int fd;
    uint64_t next_block;
    CtfsFile files[CTFS_MAX_FILES];
    int nfiles;
    int error;                       /* errno of the first failure, or 0 */
} CtfsContainer;

/* Create the container at `path`.  On failure return -1 with errno set. */
int ctfs_create(CtfsContainer *c, const char *path);
/* Add an empty file named `name` (at most 12 of [0-9a-z./-]); return its
   index, or -1. */
int ctfs_add_file(CtfsContainer *c, const char *name);
/* Append to a file.  Return 0, or the errno of the first failure. */
int ctfs_append(CtfsContainer *c, int file, const void *data, size_t len);
/* Write the last blocks and the file table, and close.  Return 0, or the
   errno of the first failure. */
int ctfs_close(CtfsContainer *c);
/* Close without finishing (a forked child must not write). */
void ctfs_abandon(CtfsContainer *c);

#endif
