/* libchain.so: another preloaded library that hooks execve and posix_spawn too, listed after
 * the shim (LD_PRELOAD=shim:libchain.so), as a tracer or a second sandbox layer would be. It
 * notes each call in out/chain.marks and goes on to the next definition (libc's). t_chain
 * checks that the shim's hooks call it: the real function is the next definition after the
 * shim, as dlsym(RTLD_NEXT) would find it, also now that it is looked up on first use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

static void mark(const char *what)
{
    int fd = open("out/chain.marks", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, what, strlen(what)) < 0) {}
        close(fd);
    }
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    mark("execve\n");
    int (*next)(const char *, char *const[], char *const[]) = dlsym(RTLD_NEXT, "execve");
    return next(path, argv, envp);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    mark("posix_spawn\n");
    int (*next)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                const posix_spawnattr_t *, char *const[], char *const[]) =
        dlsym(RTLD_NEXT, "posix_spawn");
    return next(pid, path, fa, attr, argv, envp);
}
