/* Decimal digits of unsigned integers, two at a time: writing numbers
 * (step ids, ints, float digits) is a large part of what a trace costs. */

#ifndef CTRECORD_DECIMAL_DIGITS_H
#define CTRECORD_DECIMAL_DIGITS_H

#include <stdint.h>
#include <string.h>

/* How many decimal digits `n` has (1 for 0). */
static inline int
decimal_digit_count(uint64_t n)
{
    static const uint64_t POWERS[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
        1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
        1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
        1000000000000000000ULL, 10000000000000000000ULL,
    };
    /* log10(2) is about 1233 / 4096: a first guess from the bit length,
       off by at most one. */
    int guess = ((64 - __builtin_clzll(n | 1)) * 1233) >> 12;
    int count = guess + (n >= POWERS[guess]);
    return count > 0 ? count : 1;
}

/* The two digits of n < 100 ("07" for 7). */
static inline const char *
decimal_pair(unsigned n)
{
    static const char PAIRS[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    return PAIRS + 2 * n;
}

/* Write the `count` last decimal digits of `n` (zero-padded) into
   text[0 .. count). */
static inline void
write_decimal_digits(char *text, uint64_t n, int count)
{
    char *p = text + count;
    while (p - text >= 2) {
        p -= 2;
        memcpy(p, decimal_pair((unsigned)(n % 100)), 2);
        n /= 100;
    }
    if (p > text) {
        p[-1] = (char)('0' + n % 10);
    }
}

#endif
