/* attack4lib.c — the helper libraries of t_attack4, one source built four ways:
 *   -DSYSV   libattack4sysv.so (linked with --hash-style=sysv): an ordinary library with no GNU
 *            hash table, as old or vendor-built libraries are, preloaded after the shim. It
 *            defines nothing the shim looks up; its mere presence makes the shim's table
 *            search "Unsure" for every real function, which then asks dlsym from the hook.
 *   -DIFUNC  libattack4ifunc.so: defines execve as a GNU IFUNC (as a tracer or a CPU-dispatching
 *            library might), preloaded after the shim; the implementation is the system call.
 *   -DHOLD   libattack4hold.so: dlopen()ed by a thread; its constructor runs with the loader's
 *            lock held, says so on the fd in $ATTACK4_READY, then waits for EOF on the fd in
 *            $ATTACK4_WAIT, whose write end the main thread holds with O_CLOEXEC: only the main
 *            thread's exec (or the end of the process) lets it go.
 *   -DEARLY  libattack4early.so: preloaded after the shim, so its constructor runs before the
 *            shim's; it posix_spawns ./plain-child out/attack4-early.env and notes the result in
 *            out/attack4-early.status. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SYSV
int attack4_sysv_marker(void) { return 4; }
#endif

#ifdef IFUNC
static int attack4_execve(const char *path, char *const argv[], char *const envp[])
{
    return (int)syscall(SYS_execve, path, argv, envp);
}
typedef int execve_fn(const char *, char *const[], char *const[]);
static execve_fn *pick_execve(void) { return attack4_execve; }
int execve(const char *, char *const[], char *const[]) __attribute__((ifunc("pick_execve")));
#endif

#ifdef HOLD
__attribute__((constructor)) static void hold_the_loader(void)
{
    const char *r = getenv("ATTACK4_READY"), *w = getenv("ATTACK4_WAIT");
    if (!r || !w) return;
    char c = 'r', buf[1];
    if (write(atoi(r), &c, 1) < 0) {}
    while (read(atoi(w), buf, 1) > 0) {}
}
#endif

#ifdef EARLY
__attribute__((constructor)) static void spawn_while_loading(void)
{
    char *argv[] = {"plain-child", "out/attack4-early.env", NULL};
    char *envp[] = {"PATH=.:/usr/bin:/bin", NULL};
    pid_t pid;
    int st = -1;
    int rc = posix_spawn(&pid, "./plain-child", NULL, NULL, argv, envp);
    if (rc == 0) waitpid(pid, &st, 0);
    int fd = open("out/attack4-early.status", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        char line[64];
        int n = snprintf(line, sizeof line, "%d %d\n", rc, st);
        if (write(fd, line, (size_t)n) < 0) {}
        close(fd);
    }
}
#endif
