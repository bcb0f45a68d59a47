/* t_noalloc.c — proves the shim's exec path makes no heap allocation (it may run in a vfork
 * child or a forked child of a threaded parent, where malloc can deadlock). Run with
 * LD_PRELOAD="$SHIM mallocguard.so": the guard counts every malloc-family call. The count must
 * not move across a posix_spawn/posix_spawnp of an MCP child in the parent (glibc's own
 * posix_spawn does not allocate), nor, in a child of fork() and of vfork(), across each exec*
 * of an MCP-looking target that fails after the shim injected (the child reports the count's
 * change as its exit status). Each case is checked to have really gone through injection. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

static _Atomic unsigned long *counter;

static unsigned long calls(void)
{
    return atomic_load(counter);
}

/* An executable file that is no program: exec fails (ENOEXEC) after the hook did all its work,
 * the log lines included. A missing path would not do: the hook logs nothing for a probe. */
#define BADFORMAT "mcp-server-badformat"

/* Failing targets: for the p forms, an MCP-looking name that is nowhere (they search PATH). */
static const char *target_of(enum entry e)
{
    switch (e) {
    case EP_EXECVP: case EP_EXECVPE: case EP_EXECLP: case EP_POSIX_SPAWNP:
        return "mcp-server-nonexistent";
    case EP_EXECVEAT:
        return BADFORMAT; /* relative to the build directory's fd */
    default:
        return "./" BADFORMAT;
    }
}

/* In the child: the count's change across the failing exec, or 100 if it did not fail. */
static void __attribute__((noreturn))
child(enum entry e, const char *target, int fd, char *const argv[], char *const envp[])
{
    unsigned long before = calls();
    int r = exec_entry(e, target, fd, argv, envp);
    unsigned long after = calls();
    if (r != -1)
        _exit(100);
    _exit(after - before > 99 ? 99 : (int)(after - before));
}

static void exec_case(const char *log, enum entry e, enum how h)
{
    static char *argv[] = {"mcp-server-x", "out/noalloc.env", ARGV_SECRET, NULL};
    char label[64];
    snprintf(label, sizeof label, "%s from %s", entry_name(e), how_name(h));
    const int fd = e == EP_FEXECVE ? open("/dev/null", O_RDONLY | O_CLOEXEC)
                 : e == EP_EXECVEAT ? open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    char **saved = environ;
    pid_t pid = h == VIA_VFORK ? vfork() : fork();
    if (pid == 0)
        child(e, target_of(e), fd, argv, child_envp());
    environ = saved;
    if (fd >= 0)
        close(fd);
    int status = pid > 0 ? wait_exit(pid) : -1;
    struct shimlog l;
    log_read(log, &l);
    int injected = log_count(&l, pid, "inject", NULL) == 1;
    log_free(&l);
    check(status == 0 && injected,
          "%s: no malloc-family call across an injected exec that fails (%d calls%s)", label,
          status, injected ? "" : ", and no inject line");
}

static void spawn_case(const char *log, enum entry e)
{
    char out[64], buf[64];
    snprintf(out, sizeof out, "out/noalloc-%s.env", entry_name(e));
    unlink(out);
    char *argv[] = {STANDIN, out, ARGV_SECRET, NULL};
    char **envp = child_envp();
    const char *target = entry_target(e, STANDIN, buf, sizeof buf);
    pid_t pid;

    unsigned long before = calls();
    int rc = e == EP_POSIX_SPAWN ? posix_spawn(&pid, target, NULL, NULL, argv, envp)
                                 : posix_spawnp(&pid, target, NULL, NULL, argv, envp);
    unsigned long after = calls();

    struct dump d;
    int ran = rc == 0 && wait_exit(pid) == 0 && dump_read(out, &d) == 0;
    int injected = ran && dump_get(&d, "HTTP_PROXY") != NULL;
    struct shimlog l;
    log_read(log, &l);
    injected = injected && log_count(&l, pid, "inject", NULL) == 1;
    log_free(&l);
    check(after == before && injected,
          "%s in the parent: no malloc-family call while injecting (%lu calls%s)",
          entry_name(e), after - before, injected ? "" : ", and the child was not injected");
    if (ran)
        dump_free(&d);
}

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    counter = dlsym(RTLD_DEFAULT, "mallocguard_calls");
    if (!counter)
        die("mallocguard.so is not preloaded (LD_PRELOAD=\"$SHIM build/mallocguard.so\")");
    unsigned long before = calls();
    void *volatile p = malloc(16);
    free(p);
    check(calls() - before == 2, "the guard counts malloc-family calls (malloc+free: %lu)",
          calls() - before);

    unlink(BADFORMAT);
    int bfd = open(BADFORMAT, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (bfd < 0 || write(bfd, "not a program\n", 14) != 14 || close(bfd) != 0)
        die("cannot create %s", BADFORMAT);

    spawn_case(log, EP_POSIX_SPAWN);
    spawn_case(log, EP_POSIX_SPAWNP);
    for (enum entry e = 0; e < EP_COUNT; e++)
        if (entry_is_exec(e))
            for (enum how h = VIA_FORK; h <= VIA_VFORK; h++)
                exec_case(log, e, h);
    unlink(BADFORMAT);
    return check_status();
}
