/* spawn.c — one way to call each exec and posix_spawn entry point, from fork() or vfork(). */
#define _GNU_SOURCE
#include "spawn.h"
#include "check.h"
#include "envp.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const names[EP_COUNT] = {
    "execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle",
    "fexecve", "execveat", "posix_spawn", "posix_spawnp",
};

const char *entry_name(enum entry e)
{
    return names[e];
}

int entry_is_exec(enum entry e)
{
    return e != EP_POSIX_SPAWN && e != EP_POSIX_SPAWNP;
}

const char *how_name(enum how h)
{
    return h == VIA_VFORK ? "vfork" : "fork";
}

int exec_entry(enum entry e, const char *target, int fd, char *const argv[],
               char *const envp[])
{
    switch (e) {
    case EP_EXECVE: return execve(target, argv, envp);
    case EP_EXECV: environ = (char **)envp; return execv(target, argv);
    case EP_EXECVP: environ = (char **)envp; return execvp(target, argv);
    case EP_EXECVPE: return execvpe(target, argv, envp);
    case EP_EXECL: environ = (char **)envp; return execl(target, argv[0], argv[1], argv[2], (char *)0);
    case EP_EXECLP: environ = (char **)envp; return execlp(target, argv[0], argv[1], argv[2], (char *)0);
    case EP_EXECLE: return execle(target, argv[0], argv[1], argv[2], (char *)0, envp);
    case EP_FEXECVE: return fexecve(fd, argv, envp);
    case EP_EXECVEAT: return execveat(fd, target, argv, envp, 0);
    default: errno = EINVAL; return -1;
    }
}

const char *entry_target(enum entry e, const char *name, char *buf, size_t n)
{
    if (e == EP_EXECVP || e == EP_EXECVPE || e == EP_EXECLP || e == EP_EXECVEAT ||
        e == EP_POSIX_SPAWNP || strchr(name, '/'))
        return name;
    snprintf(buf, n, "./%s", name);
    return buf;
}

/* A memfd holding a copy of the program at path: what fexecve runs. The shim names an fexecve
 * child by its fd's /proc path, which for a regular file holds every directory of the checkout
 * (a clone in mcp-env-shim/ would make plain-child look like an MCP server); a memfd's path is
 * "/memfd:<name>", the program's name alone. */
static int memfd_copy(const char *path, const char *name)
{
    char buf[65536];
    ssize_t n;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    int fd = in < 0 ? -1 : memfd_create(name, MFD_CLOEXEC);
    while (fd >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n) {
            close(fd);
            fd = -1;
        }
    if (in >= 0)
        close(in);
    return fd;
}

/* The fd fexecve runs, or the directory execveat starts from; -1 for the other forms. */
static int open_target(enum entry e, const char *path, const char *name)
{
    if (e == EP_FEXECVE)
        return memfd_copy(path, name);
    if (e == EP_EXECVEAT)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return -1;
}

pid_t spawn_via(enum entry e, enum how how, const char *name, char *const argv[],
                char *const envp[])
{
    char buf[256], path[256];
    pid_t pid;
    if (!argv[0] || !argv[1] || !argv[2] || argv[3])
        die("spawn_via takes exactly 3 argv entries");
    const char *target = entry_target(e, name, buf, sizeof buf);
    snprintf(path, sizeof path, "./%s", name);

    if (e == EP_POSIX_SPAWN || e == EP_POSIX_SPAWNP) {
        int rc = e == EP_POSIX_SPAWN ? posix_spawn(&pid, target, NULL, NULL, argv, envp)
                                     : posix_spawnp(&pid, target, NULL, NULL, argv, envp);
        if (rc != 0) {
            errno = rc;
            return -1;
        }
        return pid;
    }
    const int fd = open_target(e, path, name);
    if ((e == EP_FEXECVE || e == EP_EXECVEAT) && fd < 0)
        return -1;

    char **saved = environ;
    pid = how == VIA_VFORK ? vfork() : fork();
    if (pid == 0) {
        exec_entry(e, target, fd, argv, envp);
        _exit(127);
    }
    environ = saved; /* a vfork child's assignment landed in this memory */
    if (fd >= 0)
        close(fd);
    return pid;
}

int wait_exit(pid_t pid)
{
    int st;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t count(const char *const list[])
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

static int key_listed(const char *entry, const char *const list[])
{
    size_t k = strcspn(entry, "=");
    for (size_t i = 0; list && list[i]; i++)
        if (strncmp(list[i], entry, k) == 0 && (list[i][k] == '=' || list[i][k] == '\0'))
            return 1;
    return 0;
}

char **env_with(const char *const set[], const char *const drop[])
{
    size_t n = 0, o = 0;
    while (environ[n])
        n++;
    char **out = malloc((n + count(set) + 1) * sizeof *out);
    for (size_t i = 0; i < n; i++)
        if (!key_listed(environ[i], set) && !key_listed(environ[i], drop))
            out[o++] = environ[i];
    for (size_t i = 0; i < count(set); i++)
        out[o++] = (char *)set[i];
    out[o] = NULL;
    return out;
}

int run_with_data_limit(const char *path, char *const argv[], char *const envp[], long kb)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {.rlim_cur = (rlim_t)kb * 1024, .rlim_max = (rlim_t)kb * 1024};
        if (kb > 0 && setrlimit(RLIMIT_DATA, &r) != 0)
            _exit(90);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execve(path, argv, envp);
        _exit(126);
    }
    return pid < 0 ? -1 : wait_exit(pid);
}

int run_sub(const char *self, const char *const args[], char *const envp[])
{
    const char *argv[16] = {self, "--sub"};
    size_t a = 2;
    for (size_t i = 0; args[i] && a + 1 < 16; i++)
        argv[a++] = args[i];
    argv[a] = NULL;
    pid_t pid;
    fflush(stdout);
    if (posix_spawn(&pid, self, NULL, NULL, (char *const *)argv, envp) != 0)
        return -1;
    return wait_exit(pid);
}

enum how last_how(enum entry e)
{
    return entry_is_exec(e) ? VIA_VFORK : VIA_FORK;
}

pid_t run_standin(enum entry e, enum how h, const char *prog, const char *prefix, char **envp,
                  struct dump *d, char *label, size_t label_len)
{
    char out[128];
    snprintf(label, label_len, "%s%s%s from %s", prefix, *prefix ? " " : "", entry_name(e),
             entry_is_exec(e) ? how_name(h) : "the parent");
    snprintf(out, sizeof out, "out/%s-%s-%s.env", prog, entry_name(e), how_name(h));
    unlink(out);
    char *argv[] = {(char *)prog, out, ARGV_SECRET, NULL};
    pid_t pid = spawn_via(e, h, prog, argv, envp);
    int status = pid > 0 ? wait_exit(pid) : -1;
    if (!check(status == 0 && dump_read(out, d) == 0, "%s: the child ran and dumped its env",
               label)) {
        diag("%s: pid %ld, exit status %d", label, (long)pid, status);
        return -1;
    }
    return pid;
}
