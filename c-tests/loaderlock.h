/* loaderlock.h — what the attacks on the real-function lookups (t_attack4, t_attack5) share:
 * a thread that holds the loader's lock while the main thread makes its first hooked call, a
 * preloaded run with a time limit, and the shim and directory the runs are built from. */
#ifndef LOADERLOCK_H
#define LOADERLOCK_H
#include <pthread.h>
#include <stddef.h>

/* Starts a thread that dlopen()s libattack4hold.so, whose constructor, the loader's lock held,
 * says it is ready and then waits (attack4lib.c); returns once it is inside. *release is the
 * descriptor whose close ends the wait (so does the main thread's exec: it is O_CLOEXEC).
 * 0, or 3, 4 or 5 if a pipe, the thread or the wait failed. */
int hold_loader_lock(pthread_t *thread, int *release);

/* Runs argv with LD_PRELOAD=preload (NULL: none); returns the wait status, or -1 if it has not
 * ended after `secs` seconds (then it is killed). */
int run_limited(const char *preload, int secs, char *const argv[]);

/* A diag line for a status run_limited returned. */
void explain_status(int st);

/* The shim (this process's LD_PRELOAD, which must name it alone) and, in cwd, the directory the
 * test libraries are in; dies when either cannot be had (not run through run.sh). */
const char *shim_alone(char *cwd, size_t len);

#endif
