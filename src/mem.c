/* The memory and string functions the compiler emits calls to, defined here with hidden
 * visibility: the library's own calls bind to them at link time, so the loader has no libc
 * symbol to look up for them in every process, and they never interpose the host's own (they
 * are not exported). The library copies at most a few kilobytes per call: word-at-a-time
 * loops do. */
#include <stddef.h>
#include <stdint.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* An unaligned 8-byte word. */
typedef uint64_t __attribute__((may_alias, aligned(1))) word;

HIDDEN void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(word *)d = *(const word *)s;
    while (n--)
        *d++ = *s++;
    return dst;
}

HIDDEN void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

HIDDEN void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    uint64_t w = (unsigned char)c * 0x0101010101010101ull;
    for (; n >= 8; n -= 8, d += 8)
        *(word *)d = w;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

HIDDEN int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n >= 8 && *(const word *)x == *(const word *)y; n -= 8, x += 8, y += 8)
        ;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

HIDDEN int bcmp(const void *a, const void *b, size_t n) {
    return memcmp(a, b, n);
}

/* A word at a time once aligned (an aligned word never crosses into the next page, so this reads
 * no byte of a page the string does not touch). */
HIDDEN size_t strlen(const char *s) {
    const char *p = s;
    for (; (uintptr_t)p % 8; p++)
        if (!*p)
            return (size_t)(p - s);
    const uint64_t *w = (const uint64_t *)(const void *)p;
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (!((*w - ones) & ~*w & highs))
        w++;
    for (p = (const char *)w; *p; p++)
        ;
    return (size_t)(p - s);
}
