/* grow.c — libgrow.so: a library whose constructor, run before the shim's (preloaded after it),
 * adds $GROW_N variables to the environment with setenv (t_spare: the shim must count environ as
 * it finds it, not the loader's array). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void grow(void)
{
    const char *n = getenv("GROW_N");
    char name[32];
    for (int i = 0, k = n ? atoi(n) : 0; i < k; i++) {
        snprintf(name, sizeof name, "GROWN_%06d", i);
        setenv(name, "x", 1);
    }
}
