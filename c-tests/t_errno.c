/* t_errno.c — proves that a spawn the shim injects into and that then fails returns exactly
 * what libc alone returns: for each entry point, an MCP-looking target that does not exist
 * (ENOENT, through the PATH search for the p forms), one that is not executable (EACCES), and a
 * bad fd for fexecve (EINVAL). exec* return -1 with errno set (from fork() and vfork());
 * posix_spawn* return the error and leave errno as it was (glibc alone does not: its child
 * writes errno through the TLS it shares with the parent). "libc alone" is the same function
 * looked up in libc.so.6 itself, past the preloaded shim. A failed exec is logged as an inject
 * line then an exec-failed line with the child's pid and the errno. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define NOEXEC "mcp-server-noexec"
/* Executable, but no program: exec fails with ENOEXEC once the hook has done all its work. */
#define BADFORMAT "mcp-server-badformat"
#define ABSENT_PATH "/nonexistent/mcp-server-x"
#define ABSENT_NAME "mcp-server-nonexistent"
#define SENTINEL EDOM

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
                     const posix_spawnattr_t *, char *const[], char *const[]);

/* One implementation of every entry point: the symbols as linked (the shim's), or libc's own. */
struct fns {
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*execl)(const char *, const char *, ...);
    int (*execlp)(const char *, const char *, ...);
    int (*execle)(const char *, const char *, ...);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*execveat)(int, const char *, char *const[], char *const[], int);
    spawn_fn *posix_spawn, *posix_spawnp;
};

static const struct tcase {
    enum entry e;
    const char *target; /* NULL: fexecve on fd -1 */
    int want;
} CASES[] = {
    {EP_EXECVE, ABSENT_PATH, ENOENT},      {EP_EXECVE, "./" NOEXEC, EACCES},
    {EP_EXECV, ABSENT_PATH, ENOENT},       {EP_EXECVP, ABSENT_NAME, ENOENT},
    {EP_EXECVP, NOEXEC, EACCES},           {EP_EXECVPE, ABSENT_NAME, ENOENT},
    {EP_EXECL, ABSENT_PATH, ENOENT},       {EP_EXECLP, ABSENT_NAME, ENOENT},
    {EP_EXECLE, "./" NOEXEC, EACCES},      {EP_FEXECVE, "./" NOEXEC, EACCES},
    {EP_FEXECVE, NULL, EINVAL},            {EP_EXECVEAT, ABSENT_PATH, ENOENT},
    {EP_EXECVEAT, "./" NOEXEC, EACCES},    {EP_POSIX_SPAWN, ABSENT_PATH, ENOENT},
    {EP_POSIX_SPAWN, "./" NOEXEC, EACCES}, {EP_POSIX_SPAWNP, ABSENT_NAME, ENOENT},
    {EP_POSIX_SPAWNP, NOEXEC, EACCES},     {EP_EXECVE, "./" BADFORMAT, ENOEXEC},
    {EP_EXECV, "./" BADFORMAT, ENOEXEC},   {EP_EXECL, "./" BADFORMAT, ENOEXEC},
    {EP_EXECLE, "./" BADFORMAT, ENOEXEC},  {EP_EXECVEAT, "./" BADFORMAT, ENOEXEC},
};

/* A path form naming a file that is missing or not executable: what libuv and glibc's execvp
 * try in each PATH directory. The shim logs nothing for such a probe (one started server, one
 * line); everything else that fails gets its inject and exec-failed lines. */
static int is_probe(const struct tcase *c)
{
    int path_form = c->e == EP_EXECVE || c->e == EP_EXECV || c->e == EP_EXECL ||
                    c->e == EP_EXECLE || c->e == EP_EXECVEAT;
    return path_form && (c->want == ENOENT || c->want == EACCES);
}

static char *const ARGV[] = {"mcp-server-x", "out/errno.env", ARGV_SECRET, NULL};

/* In the child: the exec call, then its errno as the exit status. */
static void __attribute__((noreturn))
child(const struct fns *f, enum entry e, const char *t, int fd, char *const envp[])
{
    int r = 0;
    errno = 0;
    switch (e) {
    case EP_EXECVE: r = f->execve(t, ARGV, envp); break;
    case EP_EXECV: environ = (char **)envp; r = f->execv(t, ARGV); break;
    case EP_EXECVP: environ = (char **)envp; r = f->execvp(t, ARGV); break;
    case EP_EXECVPE: r = f->execvpe(t, ARGV, envp); break;
    case EP_EXECL: environ = (char **)envp; r = f->execl(t, ARGV[0], ARGV[1], ARGV[2], (char *)0); break;
    case EP_EXECLP: environ = (char **)envp; r = f->execlp(t, ARGV[0], ARGV[1], ARGV[2], (char *)0); break;
    case EP_EXECLE: r = f->execle(t, ARGV[0], ARGV[1], ARGV[2], (char *)0, envp); break;
    case EP_FEXECVE: r = f->fexecve(fd, ARGV, envp); break;
    case EP_EXECVEAT: r = f->execveat(AT_FDCWD, t, ARGV, envp, 0); break;
    default: break;
    }
    _exit(r == -1 ? errno : 120);
}

/* The errno an exec* call leaves (its child's exit status), or posix_spawn*'s return value;
 * *kept is the errno posix_spawn* left; *pid is the child's. */
static int run(const struct fns *f, const struct tcase *c, enum how how, int *kept, pid_t *pid)
{
    char **envp = child_envp();
    *kept = 1;
    if (!entry_is_exec(c->e)) {
        spawn_fn *fn = c->e == EP_POSIX_SPAWN ? f->posix_spawn : f->posix_spawnp;
        errno = SENTINEL;
        *pid = 0;
        int rc = fn(pid, c->target, NULL, NULL, ARGV, envp);
        *kept = errno;
        if (rc == 0)
            wait_exit(*pid);
        return rc;
    }
    const int fd = c->target && c->e == EP_FEXECVE ? open(c->target, O_RDONLY | O_CLOEXEC) : -1;
    char **saved = environ;
    *pid = how == VIA_VFORK ? vfork() : fork();
    if (*pid == 0)
        child(f, c->e, c->target, fd, envp);
    environ = saved;
    if (fd >= 0)
        close(fd);
    return *pid > 0 ? wait_exit(*pid) : -1;
}

static const char *ename(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "?";
}

static void *need(void *p, const char *what)
{
    if (!p)
        die("cannot find %s in libc.so.6", what);
    return p;
}

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    unlink(NOEXEC);
    int nfd = open(NOEXEC, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (nfd < 0 || write(nfd, "not a program\n", 14) != 14 || close(nfd) != 0)
        die("cannot create %s", NOEXEC);
    unlink(BADFORMAT);
    nfd = open(BADFORMAT, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (nfd < 0 || write(nfd, "not a program\n", 14) != 14 || close(nfd) != 0)
        die("cannot create %s", BADFORMAT);

    const struct fns shim = {execve, execv, execvp, execvpe, execl, execlp, execle,
                             fexecve, execveat, posix_spawn, posix_spawnp};
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        die("cannot dlopen libc.so.6");
    const struct fns libc = {
        need(dlsym(h, "execve"), "execve"),   need(dlsym(h, "execv"), "execv"),
        need(dlsym(h, "execvp"), "execvp"),   need(dlsym(h, "execvpe"), "execvpe"),
        need(dlsym(h, "execl"), "execl"),     need(dlsym(h, "execlp"), "execlp"),
        need(dlsym(h, "execle"), "execle"),   need(dlsym(h, "fexecve"), "fexecve"),
        need(dlsym(h, "execveat"), "execveat"),
        need(dlsym(h, "posix_spawn"), "posix_spawn"),
        need(dlsym(h, "posix_spawnp"), "posix_spawnp"),
    };
    if (libc.execve == execve)
        die("libc's execve is the one linked: is the shim preloaded?");

    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const struct tcase *c = &CASES[i];
        for (enum how h = VIA_FORK; h <= last_how(c->e); h++) {
            char label[128];
            snprintf(label, sizeof label, "%s %s%s%s", entry_name(c->e),
                     c->target ? c->target : "fd -1", entry_is_exec(c->e) ? " from " : "",
                     entry_is_exec(c->e) ? how_name(h) : "");
            int kept_libc, kept_shim;
            pid_t pid_libc, pid_shim;
            int alone = run(&libc, c, h, &kept_libc, &pid_libc);
            int got = run(&shim, c, h, &kept_shim, &pid_shim);
            if (entry_is_exec(c->e)) {
                check(got == c->want && alone == c->want,
                      "%s: -1 with errno %s (%d), as libc alone gives %s", label, ename(got),
                      got, ename(alone));
            } else {
                check(got == c->want && alone == c->want,
                      "%s: returns %s (%d), as libc alone does (%s)", label, ename(got), got,
                      ename(alone));
                /* glibc's own child writes errno through the shared TLS: whatever libc alone
                 * leaves there is what the caller must see with the shim too. */
                check(kept_shim == kept_libc, "%s: errno after the call is libc's own (%s, %s alone)",
                      label, ename(kept_shim), ename(kept_libc));
                continue;
            }
            struct shimlog l;
            const char *inject = NULL, *failed = NULL;
            long err = -1;
            log_read(log, &l);
            int ni = log_count(&l, pid_shim, "inject", &inject);
            int nf = log_count(&l, pid_shim, "exec-failed", &failed);
            if (failed)
                json_long(failed, "errno", &err);
            if (is_probe(c)) {
                if (!check(ni == 0 && nf == 0, "%s: a probe, no log line (pid %ld)", label,
                           (long)pid_shim))
                    diag("inject: %s; exec-failed: %s", inject ? inject : "(none)",
                         failed ? failed : "(none)");
            } else if (!check(ni == 1 && nf == 1 && err == c->want,
                       "%s: logged inject then exec-failed with pid %ld and errno %d", label,
                       (long)pid_shim, c->want))
                diag("inject: %s; exec-failed: %s", inject ? inject : "(none)",
                     failed ? failed : "(none)");
            log_free(&l);
        }
    }
    unlink(NOEXEC);
    unlink(BADFORMAT);
    return check_status();
}
