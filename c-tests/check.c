/* check.c — one line per check on stdout, flushed at once, and the count of failures. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

int check(int cond, const char *fmt, ...)
{
    va_list ap;
    fputs(cond ? "ok - " : "not ok - ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    if (!cond)
        failures++;
    return cond;
}

void diag(const char *fmt, ...)
{
    va_list ap;
    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void die(const char *fmt, ...)
{
    va_list ap;
    fputs("not ok - setup: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    exit(1);
}

int check_status(void)
{
    return failures ? 1 : 0;
}
