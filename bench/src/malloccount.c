/* A malloc interposer that counts allocations: preload it before the shim
 * (LD_PRELOAD=malloccount.so:shim.so) and read bench_malloc_count(). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static unsigned long n_alloc, n_bytes;

static void note(size_t sz)
{
    __atomic_fetch_add(&n_alloc, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&n_bytes, sz, __ATOMIC_RELAXED);
}

unsigned long bench_malloc_count(unsigned long *bytes)
{
    if (bytes) *bytes = __atomic_load_n(&n_bytes, __ATOMIC_RELAXED);
    return __atomic_load_n(&n_alloc, __ATOMIC_RELAXED);
}

void *malloc(size_t n) { note(n); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { note(a * b); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { note(n); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t al, size_t n) { note(n); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { note(n); return __libc_memalign(al, n); }
void *valloc(size_t n) { note(n); return __libc_memalign(4096, n); }
void *pvalloc(size_t n) { note(n); return __libc_memalign(4096, (n + 4095) & ~(size_t)4095); }
int posix_memalign(void **out, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1))) return EINVAL;
    note(n);
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void *reallocarray(void *p, size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) { errno = ENOMEM; return NULL; }
    return realloc(p, n);
}
