/* Writer of a CTFS container (.ct). */

#include "pyconfig.h"          // _GNU_SOURCE: pwrite(), O_CLOEXEC
#include "ctfs_container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS (CTFS_BLOCK_SIZE / 8)
#define DATA_SLOTS (SLOTS - 1)           /* the last slot chains a level up */
#define HEADER_SIZE 16
#define ENTRY_SIZE 24

static void
fail(CtfsContainer *c, int err)
{
    if (!c->error) {
        c->error = err ? err : EIO;
    }
}

static void
write_at(CtfsContainer *c, uint64_t offset, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0 && !c->error) {
        ssize_t n = pwrite(c->fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno != EINTR) {
                fail(c, errno);
            }
            continue;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
}

static void
set_slot(CtfsContainer *c, uint64_t block, uint64_t slot, uint64_t value)
{
    unsigned char bytes[8];
    ctfs_store_le(bytes, value, 8);
    write_at(c, block * CTFS_BLOCK_SIZE + slot * 8, bytes, 8);
}

/* Unwritten parts of a block read as zeros: new blocks need no writing. */
static uint64_t
new_block(CtfsContainer *c)
{
    return c->next_block++;
}

/* Base40: 0 pads, then 0-9, a-z, '.', '/', '-'; first character lowest. */
static uint64_t
base40(const char *name)
{
    static const char ALPHABET[] = "0123456789abcdefghijklmnopqrstuvwxyz./-";
    uint64_t value = 0, scale = 1;
    for (const char *p = name; *p; p++) {
        const char *at = strchr(ALPHABET, *p);
        value += (uint64_t)(at ? at - ALPHABET + 1 : 0) * scale;
        scale *= 40;
    }
    return value;
}

static void
write_header(CtfsContainer *c)
{
    unsigned char header[HEADER_SIZE] = {0xc0, 0xde, 0x72, 0xac, 0xe2,
                                         4,      /* version */
                                         0,      /* no encryption */
                                         1};     /* one shard */
    ctfs_store_le(header + 8, CTFS_BLOCK_SIZE, 4);
    ctfs_store_le(header + 12, CTFS_MAX_FILES, 4);
    write_at(c, 0, header, sizeof(header));
}

static void
write_entry(CtfsContainer *c, int file)
{
    CtfsFile *f = &c->files[file];
    unsigned char entry[ENTRY_SIZE];
    ctfs_store_le(entry, f->size, 8);
    ctfs_store_le(entry + 8, f->spine[0], 8);
    ctfs_store_le(entry + 16, f->name, 8);
    write_at(c, HEADER_SIZE + (uint64_t)file * ENTRY_SIZE, entry, sizeof(entry));
}

int
ctfs_create(CtfsContainer *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    c->next_block = 1;
    c->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (c->fd < 0) {
        return -1;
    }
    write_header(c);
    if (c->error) {
        errno = c->error;
        ctfs_abandon(c);
        return -1;
    }
    return 0;
}

int
ctfs_add_file(CtfsContainer *c, const char *name)
{
    if (c->nfiles == CTFS_MAX_FILES) {
        fail(c, ENOSPC);
        return -1;
    }
    unsigned char *tail = malloc(CTFS_BLOCK_SIZE);
    if (tail == NULL) {
        fail(c, ENOMEM);
        return -1;
    }
    int file = c->nfiles++;
    CtfsFile *f = &c->files[file];
    memset(f, 0, sizeof(*f));
    f->name = base40(name);
    f->tail = tail;
    f->spine[0] = new_block(c);
    write_entry(c, file);
    return file;
}

/* Enter data block number f->blocks (= `block`) in the file's mapping.
   Past the DATA_SLOTS^1 blocks level 1 maps, the chain slot leads to a
   level-2 block mapping DATA_SLOTS^2 more through level-1 children, and
   so on: the layout CodeTracer's readers walk. */
static void
map_data_block(CtfsContainer *c, CtfsFile *f, uint64_t block)
{
    uint64_t index = f->blocks++;
    uint64_t capacity = DATA_SLOTS;
    int level = 1;
    while (index >= capacity) {
        index -= capacity;
        if (++level > CTFS_MAX_LEVELS) {
            fail(c, EFBIG);
            return;
        }
        if (f->spine[level - 1] == 0) {
            f->spine[level - 1] = new_block(c);
            set_slot(c, f->spine[level - 2], DATA_SLOTS, f->spine[level - 1]);
        }
        capacity *= DATA_SLOTS;
    }
    uint64_t mapping = f->spine[level - 1];
    for (int l = level; l > 1; l--) {
        capacity /= DATA_SLOTS;          /* what one slot of level l covers */
        uint64_t slot = index / capacity;
        index %= capacity;
        if (f->child_parent[l - 1] != mapping || f->child_slot[l - 1] != slot ||
            f->child[l - 1] == 0)
        {
            f->child[l - 1] = new_block(c);
            f->child_parent[l - 1] = mapping;
            f->child_slot[l - 1] = slot;
            set_slot(c, mapping, slot, f->child[l - 1]);
        }
        mapping = f->child[l - 1];
    }
    set_slot(c, mapping, index, block);
}

static void
write_tail(CtfsContainer *c, CtfsFile *f, size_t len)
{
    uint64_t block = new_block(c);
    map_data_block(c, f, block);
    write_at(c, block * CTFS_BLOCK_SIZE, f->tail, len);
}

int
ctfs_append(CtfsContainer *c, int file, const void *data, size_t len)
{
    if (file < 0) {
        return c->error ? c->error : EINVAL;
    }
    CtfsFile *f = &c->files[file];
    const unsigned char *p = data;
    size_t filled = f->size % CTFS_BLOCK_SIZE;
    while (len > 0 && !c->error) {
        size_t n = CTFS_BLOCK_SIZE - filled < len ? CTFS_BLOCK_SIZE - filled : len;
        memcpy(f->tail + filled, p, n);
        p += n;
        len -= n;
        filled += n;
        f->size += n;
        if (filled == CTFS_BLOCK_SIZE) {
            write_tail(c, f, CTFS_BLOCK_SIZE);
            filled = 0;
        }
    }
    return c->error;
}

int
ctfs_close(CtfsContainer *c)
{
    for (int i = 0; i < c->nfiles; i++) {
        CtfsFile *f = &c->files[i];
        size_t filled = f->size % CTFS_BLOCK_SIZE;
        if (filled) {
            memset(f->tail + filled, 0, CTFS_BLOCK_SIZE - filled);
            write_tail(c, f, CTFS_BLOCK_SIZE);
        }
        write_entry(c, i);
    }
    /* Every block, mapping blocks included, is whole in the file. */
    if (!c->error && ftruncate(c->fd, (off_t)(c->next_block * CTFS_BLOCK_SIZE)) < 0) {
        fail(c, errno);
    }
    if (close(c->fd) < 0) {
        fail(c, errno);
    }
    c->fd = -1;
    int err = c->error;
    ctfs_abandon(c);
    return err;
}

void
ctfs_abandon(CtfsContainer *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    for (int i = 0; i < c->nfiles; i++) {
        free(c->files[i].tail);
        c->files[i].tail = NULL;
    }
    c->nfiles = 0;
}
