/* check.h — the output every C test shares: one line per check, "ok - ..." or "not ok - ...",
 * "# ..." diagnostics under a failure, and an exit status that is non-zero if any check failed. */
#ifndef CHECK_H
#define CHECK_H

/* Prints "ok - <msg>" or "not ok - <msg>" and flushes (forked children must not inherit a
 * buffered line). Returns cond, so a caller can add diagnostics under a failure. */
int check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "# <msg>": context for the line above; never counted. */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stops the test at once: a setup step failed, so no check after it would mean anything. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* 0 if every check passed, 1 otherwise: the test's exit status. */
int check_status(void);

#endif
