/* t_attack3.c — the third round of a hostile host against the shim: each case is something a
 * real program does, that works without the shim and must work the same with it.
 *   proctitle  a gateway that sets its process title the way setproctitle does (Python's
 *              setproctitle, PostgreSQL, nginx, Ruby's $0=): it moves its environment to new
 *              memory (environ and getenv still give every value) and writes the title over
 *              the original argv+environ strings. A server it spawns afterwards must still be
 *              given the host's HTTPS_PROXY, as it had when the shim loaded: the shim kept only
 *              the load-time pointers and reads the strings behind them at the first spawn.
 *   signest    a signal handler that runs during a log write (the window with SIGPIPE, SIGXFSZ
 *              and SIGTTOU blocked) first posix_spawns an MCP server (whose hook writes a line
 *              of its own) and then execs a crash reporter: the reporter must not inherit the
 *              three signals blocked (the nested write's record replaced the outer one's, and
 *              its end dropped it).
 * The write's window is entered deterministically with dnotify, as in t_attack2. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The helpers are shared by the signal cases. */
__attribute__((unused)) static const unsigned long long THREE =
    (1ULL << (SIGPIPE - 1)) | (1ULL << (SIGTTOU - 1)) | (1ULL << (SIGXFSZ - 1));

/* SigBlk and the pending signals (SigPnd | ShdPnd) of a /proc/PID/status copy; 0 if none. */
__attribute__((unused)) static int
read_status(const char *path, unsigned long long *blocked, unsigned long long *pending)
{
    FILE *st = fopen(path, "r");
    char line[256];
    unsigned long long v;
    int found = 0;
    *blocked = *pending = 0;
    while (st && fgets(line, sizeof line, st)) {
        if (sscanf(line, "SigBlk: %llx", &v) == 1)
            *blocked = v, found = 1;
        if (sscanf(line, "SigPnd: %llx", &v) == 1 || sscanf(line, "ShdPnd: %llx", &v) == 1)
            *pending |= v;
    }
    if (st)
        fclose(st);
    return found;
}

/* Asks for `sig`, sent to this thread, the next time a file of the log's directory is
 * written (one shot): the shim's own write of its line. */
__attribute__((unused)) static int signal_on_log_write(int sig)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", log_path());
    char *slash = strrchr(dir, '/');
    if (!slash)
        die("log path");
    *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct f_owner_ex owner = {.type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid)};
    if (fd < 0 || fcntl(fd, F_SETSIG, sig) != 0 || fcntl(fd, F_SETOWN_EX, &owner) != 0 ||
        fcntl(fd, F_NOTIFY, DN_MODIFY) != 0)
        die("dnotify on %s", dir);
    return fd;
}

/* Execs `cat /proc/self/status` with its stdout in `out`: a crash reporter, a helper. */
__attribute__((unused)) static void exec_reporter(const char *out)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    char *argv[] = {"cat", "/proc/self/status", NULL};
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    execve("/bin/cat", argv, env);
    _exit(126);
}

/* --- proctitle ---------------------------------------------------------------------------- */

static void t_proctitle(void)
{
    const char *want = getenv("HTTPS_PROXY");
    if (!want)
        die("proctitle: the host has no HTTPS_PROXY");
    char *want_copy = strdup(want);
    unlink("out/attack3-proctitle.env");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* setproctitle: the environment moves to new memory, then the title is written over
         * the contiguous argv+environ strings, the rest zeroed. */
        size_t n = 0;
        while (environ[n])
            n++;
        char **moved = calloc(n + 1, sizeof *moved);
        char *lo = environ[0], *hi = environ[0];
        for (size_t i = 0; i < n; i++) {
            moved[i] = strdup(environ[i]);
            if (environ[i] < lo)
                lo = environ[i];
            if (environ[i] + strlen(environ[i]) + 1 > hi)
                hi = environ[i] + strlen(environ[i]) + 1;
        }
        char **old = environ;
        environ = moved;
        (void)old;
        memset(lo, 0, (size_t)(hi - lo));
        snprintf(lo, (size_t)(hi - lo), "gateway: worker process");
        const char *still = getenv("HTTPS_PROXY");
        if (!still || strcmp(still, want_copy) != 0)
            _exit(90); /* the host's own view must be intact */
        char *argv[] = {STANDIN, "out/attack3-proctitle.env", NULL};
        pid_t c;
        if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) != 0)
            _exit(91);
        _exit(wait_exit(c) == 0 ? 0 : 92);
    }
    int status = wait_exit(pid);
    struct dump d;
    if (!check(status == 0 && dump_read("out/attack3-proctitle.env", &d) == 0,
               "proctitle: a gateway that set its process title spawned a server (status %d)",
               status)) {
        free(want_copy);
        return;
    }
    const char *got = dump_get(&d, "HTTPS_PROXY");
    check(got && strcmp(got, want_copy) == 0,
          "proctitle: the server is given the host's HTTPS_PROXY=%s after the host set its "
          "process title over its original environment strings (given: %s)",
          want_copy, got ? got : "none");
    dump_free(&d);
    free(want_copy);
}

/* --- signest ------------------------------------------------------------------------------ */

#define SIGNEST_OUT "out/attack3-signest.status"
static volatile sig_atomic_t signest_ran, signest_spawned;

static void on_write_spawn_then_exec(int sig)
{
    (void)sig;
    if (signest_ran)
        return;
    signest_ran = 1;
    char *argv[] = {STANDIN, "/dev/null", NULL};
    pid_t c;
    if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0) {
        signest_spawned = 1;
        waitpid(c, NULL, 0);
    }
    exec_reporter(SIGNEST_OUT);
}

static void t_signest(void)
{
    unlink(SIGNEST_OUT);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_write_spawn_then_exec};
        sigaction(SIGUSR1, &sa, NULL);
        signal_on_log_write(SIGUSR1);
        char *argv[] = {STANDIN, "/dev/null", NULL};
        pid_t c;
        if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0)
            waitpid(c, NULL, 0);
        _exit(3); /* no signal came during the write */
    }
    int status = wait_exit(pid);
    unsigned long long blocked = 0, pending = 0;
    int found = read_status(SIGNEST_OUT, &blocked, &pending);
    check(status == 0 && found && (blocked & THREE) == 0,
          "signest: a crash reporter exec'd by a handler that ran during a log write, after "
          "the handler posix_spawned an MCP server, does not inherit SIGPIPE/SIGTTOU/SIGXFSZ "
          "blocked (status %d, %s, SigBlk %016llx)",
          status, found ? "the reporter ran" : "no reporter ran", blocked);
}

int main(void)
{
    t_proctitle(); /* first: before any spawn of this process builds the host's values */
    t_signest();
    return check_status();
}
