/* repr() of a float in 1e-14 <= |v| < 2**53: the shortest decimal that
 * reads back as v (the nearest of them to v, ties to an even last digit),
 * found with exact integer arithmetic.
 *
 * Such a v is m * 2**-s with m < 2**53 and s <= 99.  Every real in v's
 * rounding interval, (v - half an ulp, v + half an ulp), reads back as v
 * (its ends too when m is even: reading rounds ties to even).  In units of
 * 2**-(s + 2) the interval's ends and v are integers, below 2**55.  With k
 * digits after the point, a decimal is an integer d times 10**-k, so the
 * shortest decimal has the least k for which some d * 2**(s + 2) lies in
 * 10**k times the interval, that is d * 2**(s + 2 - k) in 5**k times it.
 * v itself has s digits after the point, so k <= s < s + 2, and
 * 5**k <= 5**31 keeps every product below 2**127.  repr() writes floats
 * from 1e-4 on positionally, a whole number (every float from 2**52 up is
 * one) as "<digits>.0", and smaller ones as "<digits>e-<exponent>". */

#include "float_repr.h"

#include "decimal_digits.h"

#include <stdint.h>
#include <string.h>

#ifdef __SIZEOF_INT128__

typedef unsigned __int128 u128;

#define MAX_FRACTION_DIGITS 31      /* 14 leading zeros and 17 digits */
/* Where the search starts: arithmetic results mostly need 16 or 17
   significant digits. */
#define FIRST_GUESS_DIGITS 16

static const u128 POW5[MAX_FRACTION_DIGITS + 1] = {
    1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL, 390625ULL,
    1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL, 1220703125ULL,
    6103515625ULL, 30517578125ULL, 152587890625ULL, 762939453125ULL,
    3814697265625ULL, 19073486328125ULL, 95367431640625ULL, 476837158203125ULL,
    2384185791015625ULL, 11920928955078125ULL, 59604644775390625ULL,
    298023223876953125ULL, 1490116119384765625ULL, 7450580596923828125ULL,
    (u128)7450580596923828125ULL * 5, (u128)7450580596923828125ULL * 25,
    (u128)7450580596923828125ULL * 125, (u128)7450580596923828125ULL * 625,
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
    if (!(a >= 1e-14 && a < 9007199254740992.0)) {
        return 0;
    }
    uint64_t bits;
    memcpy(&bits, &a, sizeof(bits));
    uint64_t fraction_bits = bits & ((1ULL << 52) - 1);
    int exponent_bits = (int)(bits >> 52);
    uint64_t m = fraction_bits | (1ULL << 52);      /* a is normal */
    int s = 1075 - exponent_bits;                   /* a = m * 2**-s, s <= 99 */
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
    int whole_digits = 0;       /* minus the zeros after the point, below 1 */
    if (a >= 1) {
        whole_digits = decimal_digit_count((uint64_t)a);
    }
    else {
        for (double scaled = a * 10; scaled < 1; scaled *= 10) {
            whole_digits--;
        }
    }
    int first = 1, last = s < MAX_FRACTION_DIGITS ? s : MAX_FRACTION_DIGITS;
    int guess = FIRST_GUESS_DIGITS - whole_digits;
    guess = guess < first ? first : guess > last ? last : guess;
    int found = MAX_FRACTION_DIGITS + 1;
    u128 least = 0, most = 0;
    for (int k = guess, probe = 0; first <= last; probe++) {
        int unit = shift - k;
        u128 unit_mask = ((u128)1 << unit) - 1;
        u128 lo = low * POW5[k], hi = high * POW5[k];
        u128 k_least = (lo >> unit) + ((lo & unit_mask) != 0 || !ends_read_back);
        u128 k_most = (hi >> unit) - ((hi & unit_mask) == 0 && !ends_read_back);
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
    int k = found, unit = shift - k;
    u128 exact = center * POW5[k];
    u128 d = exact >> unit, rest = exact & (((u128)1 << unit) - 1);
    u128 half = (u128)1 << (unit - 1);
    if (rest > half || (rest == half && (d & 1))) {
        d++;
    }
    d = d < least ? least : d > most ? most : d;
    if (a < 1e-4) {
        /* At most 17 digits, none of them a trailing 0 (k is the least). */
        uint64_t digits = (uint64_t)d;
        int count = decimal_digit_count(digits);
        char all[20];
        write_decimal_digits(all, digits, count);
        *p++ = all[0];
        if (count > 1) {
            *p++ = '.';
            memcpy(p, all + 1, (size_t)count - 1);
            p += count - 1;
        }
        memcpy(p, "e-", 2);
        return (int)(put_digits(p + 2, (uint64_t)(k - count + 1), 2) - text);
    }
    /* 64-bit division where d fits, a single instruction. */
    u128 pow10 = POW5[k] << k;
    uint64_t whole, digits;
    if ((d >> 64) == 0 && k < 20) {
        whole = (uint64_t)d / (uint64_t)pow10;
        digits = (uint64_t)d % (uint64_t)pow10;
    }
    else {
        whole = (uint64_t)(d / pow10);
        digits = (uint64_t)(d % pow10);
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
