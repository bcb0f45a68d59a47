/* sigtest.h — what the signal-window attacks (t_attack, t_attack2, t_attack3) share: a signal
 * delivered inside the shim's own log write, a program exec'd from a handler that reports its
 * signal mask, and a seccomp trap on one system call the shim makes there. */
#ifndef SIGTEST_H
#define SIGTEST_H

/* SIGPIPE, SIGTTOU and SIGXFSZ: the signals the shim blocks while it writes a line. */
extern const unsigned long long WRITE_SIGNALS;

/* SigBlk and, if `pending` is not NULL, the pending signals (SigPnd | ShdPnd) of a copy of
 * /proc/PID/status; returns 0 (and zeroes) when the file has no SigBlk line. */
int read_status(const char *path, unsigned long long *blocked, unsigned long long *pending);

/* Asks for `sig`, sent to this thread, the next time a file of the log's directory is written
 * (one shot): the shim's own write of its line. Returns the directory's descriptor. */
int signal_on_log_write(int sig);

/* Execs `cat /proc/self/status` with its stdout in `out`: a crash reporter, a helper.
 * Async-signal-safe; exits 126 if the exec fails. */
void exec_reporter(const char *out) __attribute__((noreturn));

/* Makes system call `nr` raise SIGSYS in this process and its children (seccomp, with
 * no_new_privs); _exit(90) if the filter cannot be installed. */
void trap_syscall(long nr);

#endif
