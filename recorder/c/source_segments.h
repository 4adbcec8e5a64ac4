/* Source text of a range of a program's file, for naming assignment
 * targets (`self.count`, `d[k]`) the way the program spells them.
 * Each file is read once, when its first target is named. */

#ifndef CTRECORD_SOURCE_SEGMENTS_H
#define CTRECORD_SOURCE_SEGMENTS_H

#include "extension_writer.h"     // SourceRange

/* The text of `range` in the file at `path`, or NULL (no exception set)
   if the file or the range is not there. */
PyObject *source_segment(PyObject *path, SourceRange range);

void source_segments_clear(void);

#endif
