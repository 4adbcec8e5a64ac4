/* repr() of a float, without big-number arithmetic, for the floats whose
 * digits 128-bit integers find exactly: the common case of a trace full of
 * new floats, where CPython's general algorithm (Python/dtoa.c) costs more
 * than the rest of a step. */

#ifndef CTRECORD_FLOAT_REPR_H
#define CTRECORD_FLOAT_REPR_H

#define FLOAT_REPR_SIZE 32

/* Write repr(v) into `text` (FLOAT_REPR_SIZE bytes, not terminated) and
   return its length; return 0, writing nothing, for a float outside
   1e-14 <= |v| < 2**53 (and for 0, infinities and NaN). */
int float_repr(double v, char *text);

#endif
