/* repr() of a float in 1e-4 <= |v| < 2**53: the shortest decimal that reads
 * back as v (the nearest of them to v, ties to an even last digit), found
 * with exact integer arithmetic.
 *
 * Such a v is m * 2**-s with m < 2**53 and s <= 66.  Every real in v's
 * rounding interval, (v - half an ulp, v + half an ulp), reads back as v
 * (its ends too when m is even: reading rounds ties to even).  In units of
 * 2**-(s + 2) the interval's ends and v are integers, below 2**55.  With k
 * digits after the point, a decimal is an integer d times 10**-k, so the
 * shortest decimal has the least k for which some d * 2**(s + 2) lies in
 * 10**k times the interval; 10**k <= 10**21 keeps every product below
 * 2**125.  repr() writes such floats positionally, and a whole number
 * (every float from 2**52 up is one) as "<digits>.0". */

#include "float_repr.h"

#include "decimal_digits.h"

#include <stdint.h>
#include <string.h>

#ifdef __SIZEOF_INT128__

typedef unsigned __int128 u128;

#define MAX_FRACTION_DIGITS 21      /* 4 leading zeros and 17 digits */
/* Where the search starts: arithmetic results mostly need 16 or 17
   significant digits. */
#define FIRST_GUESS_DIGITS 16

static const u128 POW10[MAX_FRACTION_DIGITS + 1] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
    1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
    1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
    1000000000000000000ULL, 10000000000000000000ULL,
    (u128)10000000000000000000ULL * 10, (u128)10000000000000000000ULL * 100,
};

/* Write the decimal digits of n (at least `width` of them, zero-padded). */
static char *
put_digits(char *p, uint64_t n, int width)
{
    int count = decimal_digit_count(n);
    if (count < width) {
        count = width;
    }
    write_decimal_digits(p, n, count);
    return p + count;
}

int
float_repr(double v, char *text)
{
    double a = v < 0 ? -v : v;
    if (!(a >= 1e-4 && a < 9007199254740992.0)) {
        return 0;
    }
    uint64_t bits;
    memcpy(&bits, &a, sizeof(bits));
    uint64_t fraction_bits = bits & ((1ULL << 52) - 1);
    int exponent_bits = (int)(bits >> 52);
    uint64_t m = fraction_bits | (1ULL << 52);      /* a is normal */
    int s = 1075 - exponent_bits;                   /* a = m * 2**-s, s <= 66 */
    char *p = text;
    if (v < 0) {
        *p++ = '-';
    }
    if (s <= 0 || (s < 64 && (m & ((1ULL << s) - 1)) == 0)) {
        p = put_digits(p, s <= 0 ? m << -s : m >> s, 1);
        memcpy(p, ".0", 2);
        return (int)(p + 2 - text);
    }
    int shift = s + 2;
    u128 unit_mask = ((u128)1 << shift) - 1;
    u128 center = (u128)m << 2;
    u128 high = center + 2;
    /* Below a power of two the next float down is half as far. */
    u128 low = center - (fraction_bits == 0 && exponent_bits > 1 ? 1 : 2);
    int ends_read_back = (m & 1) == 0;
    /* The least k with a k-digit decimal in the interval: if k digits have
       one, k + 1 digits have it too (with a trailing 0), so a search finds
       it.  It tries the first guess and the neighbour it points to, then
       bisects what is left: arithmetic results take two tries on average,
       against four or five for a bisection from the start. */
    int whole_digits = a >= 1 ? decimal_digit_count((uint64_t)a)
                       : a >= 0.1 ? 0 : a >= 0.01 ? -1 : a >= 0.001 ? -2 : -3;
    int guess = FIRST_GUESS_DIGITS - whole_digits;
    int found = MAX_FRACTION_DIGITS + 1;
    u128 least = 0, most = 0;
    int first = 1, last = MAX_FRACTION_DIGITS;
    for (int k = guess < 1 ? 1 : guess, probe = 0; first <= last; probe++) {
        u128 lo = low * POW10[k], hi = high * POW10[k];
        u128 k_least = (lo >> shift) + ((lo & unit_mask) != 0 || !ends_read_back);
        u128 k_most = (hi >> shift) - ((hi & unit_mask) == 0 && !ends_read_back);
        int fits = k_least <= k_most;
        if (fits) {
            found = k;
            least = k_least;
            most = k_most;
            last = k - 1;
        }
        else {
            first = k + 1;
        }
        k = probe > 0 ? (first + last) / 2 : fits ? k - 1 : k + 1;
    }
    if (found > MAX_FRACTION_DIGITS) {
        return 0;
    }
    int k = found;
    u128 exact = center * POW10[k];
    u128 d = exact >> shift, rest = exact & unit_mask, half = (u128)1 << (shift - 1);
    if (rest > half || (rest == half && (d & 1))) {
        d++;
    }
    d = d < least ? least : d > most ? most : d;
    /* 64-bit division where d fits, a single instruction. */
    uint64_t whole, digits;
    if ((d >> 64) == 0 && k < 20) {
        whole = (uint64_t)d / (uint64_t)POW10[k];
        digits = (uint64_t)d % (uint64_t)POW10[k];
    }
    else {
        whole = (uint64_t)(d / POW10[k]);
        digits = (uint64_t)(d % POW10[k]);
    }
    p = put_digits(p, whole, 1);
    *p++ = '.';
    p = put_digits(p, digits, k);
    return (int)(p - text);
}

#else   /* no 128-bit integers: CPython's dtoa writes every float */

int
float_repr(double v, char *text)
{
    (void)v;
    (void)text;
    return 0;
}

#endif
