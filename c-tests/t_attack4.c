/* t_attack4: attacks on looking the real functions up on first use (src/real.rs resolve_late,
 * src/link.rs After) instead of in the constructor.
 *
 * 1. A library without a GNU hash table (libattack4sysv.so, --hash-style=sysv) or one that
 *    defines execve as an IFUNC (libattack4ifunc.so), preloaded after the shim, makes the
 *    table search "Unsure": the first hook call then asks dlsym(RTLD_NEXT), which takes the
 *    loader's lock, from the hook. Another thread inside dlopen (a constructor running with the
 *    loader's lock held, waiting for something only the exec ends) then blocks the exec for
 *    good. Before the change, Unsure was settled by dlsym in the constructor: the exec went
 *    through at once. (Control: the same scenario with the shim alone.)
 * 2. Run as `ld.so PROGRAM` with a library preloaded after the shim whose constructor spawns
 *    (before the shim's constructor): search_now reads the kernel's auxv (PR_GET_AUXV), whose
 *    AT_PHDR is ld.so's own program headers; ld.so has no PT_PHDR, so link::r_debug takes the
 *    bias as 0 and reads ld.so's unrelocated PT_DYNAMIC address: SIGSEGV inside posix_spawn.
 *    Before the change, a plain posix_spawn before the constructor used dlsym and worked.
 * 3. The shim dlopen()ed rather than preloaded (a plugin, ctypes): libc is before it in the
 *    loader's list, so the search after it finds No, which is now final: its posix_spawn
 *    returns ENOSYS. Before, a miss fell back to dlsym(RTLD_NEXT), which finds libc's.
 * 4. (Also before the change) glibc's pre-2.15 posix_spawn (compatspawn) with an Unsure object
 *    after the shim, or with more than MAX_OBJECTS (12) objects: the versioned lookup gives up
 *    and the hook calls the 2.15 posix_spawn, which fails with ENOEXEC where the old one runs a
 *    script without #! through /bin/sh.
 * 5. (Also before the change) longjmp's first call with libchain.so (another posix_spawn hook)
 *    after the shim asks dlsym from the jump: it blocks while a thread is inside dlopen. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "loaderlock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LDSO "/lib64/ld-linux-x86-64.so.2"

/* A thread is inside dlopen (the loader's lock held) when the main thread first calls execve. */
static int hold_probe(const char *out)
{
    pthread_t t;
    int release, e = hold_loader_lock(&t, &release);
    if (e) return e;
    char *argv[] = {PLAIN, (char *)out, NULL};
    execve("./" PLAIN, argv, environ);
    return 6;
}

/* As hold_probe, but the main thread's first hooked call is longjmp. */
static int jump_probe(void)
{
    pthread_t t;
    int release, e = hold_loader_lock(&t, &release);
    if (e) return e;
    static jmp_buf j;
    if (setjmp(j) == 0) longjmp(j, 1);
    _exit(0);
}

/* The shim dlopen()ed, its posix_spawn called through the handle. */
static int dlopen_probe(const char *shim)
{
    void *h = dlopen(shim, RTLD_NOW | RTLD_LOCAL);
    if (!h) return 90;
    int (*sp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
              const posix_spawnattr_t *, char *const[], char *const[]) = dlsym(h, "posix_spawn");
    if (!sp) return 91;
    char *argv[] = {PLAIN, "out/attack4-dlopen.env", NULL};
    pid_t pid;
    int rc = sp(&pid, "./" PLAIN, NULL, NULL, argv, environ);
    if (rc != 0) return rc; /* ENOSYS = 38 */
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 92;
}

static int exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0;
}

static void copy(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in < 0 || out < 0) die("copy %s -> %s", from, to);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) die("copy write");
    close(in);
    close(out);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "hold") == 0) return hold_probe(argv[2]);
    if (argc > 2 && strcmp(argv[1], "dlopen") == 0) return dlopen_probe(argv[2]);
    if (argc > 1 && strcmp(argv[1], "quiet") == 0) return 0;
    if (argc > 1 && strcmp(argv[1], "jump") == 0) return jump_probe();

    char cwd[PATH_MAX];
    const char *shim = shim_alone(cwd, sizeof cwd);
    char preload[3 * PATH_MAX];

    /* 1. dlsym from the hook while another thread holds the loader's lock. */
    struct { const char *name, *lib; } holds[] = {
        {"shim alone (control)", NULL},
        {"a SysV-hash-only library after the shim", "libattack4sysv.so"},
        {"a library with an IFUNC execve after the shim", "libattack4ifunc.so"},
    };
    for (size_t i = 0; i < sizeof holds / sizeof *holds; i++) {
        char out[64];
        snprintf(out, sizeof out, "out/attack4-hold%zu.env", i);
        unlink(out);
        if (holds[i].lib)
            snprintf(preload, sizeof preload, "%s:%s/%s", shim, cwd, holds[i].lib);
        else
            snprintf(preload, sizeof preload, "%s", shim);
        char *pargv[] = {"./t_attack4", "hold", out, NULL};
        int st = run_limited(preload, 5, pargv);
        if (!check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && exists(out),
                   "%s: the first execve goes through while a thread is inside dlopen", holds[i].name))
            diag(st == -1 ? "still blocked after 5 s (killed): the hook waits for the loader's lock"
                          : "status %d", st);
    }

    /* 2. A spawn before the shim's constructor, the program started by ld.so explicitly. */
    if (access(LDSO, X_OK) == 0) {
        unlink("out/attack4-early.status");
        unlink("out/attack4-early.env");
        snprintf(preload, sizeof preload, "%s:%s/libattack4early.so", shim, cwd);
        char *pargv[] = {LDSO, "./t_attack4", "quiet", NULL};
        int st = run_limited(preload, 10, pargv);
        char line[64] = "";
        FILE *f = fopen("out/attack4-early.status", "r");
        if (f) {
            if (!fgets(line, sizeof line, f)) line[0] = 0;
            fclose(f);
        }
        if (!check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
                       strcmp(line, "0 0\n") == 0 && exists("out/attack4-early.env"),
                   "`ld.so PROGRAM`: a library's constructor spawns before the shim's, and the "
                   "process survives"))
            diag(WIFSIGNALED(st) ? "killed by signal %d (status line '%.20s')"
                                 : "status %d (status line '%.20s')",
                 WIFSIGNALED(st) ? WTERMSIG(st) : st, line);
    } else {
        diag("no %s: the ld.so case is not run", LDSO);
    }

    /* 3. The shim dlopen()ed: its posix_spawn still reaches libc's. */
    {
        unlink("out/attack4-dlopen.env");
        char *pargv[] = {"./t_attack4", "dlopen", (char *)shim, NULL};
        int st = run_limited(NULL, 10, pargv);
        if (!check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && exists("out/attack4-dlopen.env"),
                   "the shim dlopen()ed: its posix_spawn starts the child"))
            diag("status %d (exit %d: 38 is ENOSYS)", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }

    /* 4. (Before the change too.) glibc's pre-2.15 posix_spawn runs a script without #!. */
    {
        int fd = open("out/attack4-noshebang", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (fd < 0 || write(fd, "exit 7\n", 7) != 7) die("out/attack4-noshebang");
        close(fd);
        char many[16 * PATH_MAX];
        int n = snprintf(many, sizeof many, "%s", shim);
        for (int i = 0; i < 12; i++) {
            char to[PATH_MAX + 64];
            snprintf(to, sizeof to, "%s/out/attack4-copy%d.so", cwd, i);
            copy("libattack4sysv.so", to); /* distinct files: the loader keeps each */
            n += snprintf(many + n, sizeof many - (size_t)n, ":%s", to);
        }
        snprintf(preload, sizeof preload, "%s:%s/libattack4sysv.so", shim, cwd);
        struct { const char *name, *preload; } compat[] = {
            {"shim alone (control)", shim},
            {"a SysV-hash-only library after the shim", preload},
            {"13 more objects than the program, libc and ld.so", many},
        };
        for (size_t i = 0; i < sizeof compat / sizeof *compat; i++) {
            char *pargv[] = {"./compatspawn", "s", "out/attack4-noshebang", NULL};
            int st = run_limited(compat[i].preload, 10, pargv);
            if (!check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 7,
                       "%s: pre-2.15 posix_spawn runs a script without #! through /bin/sh",
                       compat[i].name))
                diag("status %d (exit %d: 8 is ENOEXEC)", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        }
    }

    /* 5. (Before the change too.) longjmp's first call, with another library hooking
     * posix_spawn after the shim (libchain.so, as t_chain): libc_function looks "longjmp" up
     * in the object that defines the next posix_spawn, which is libchain.so, misses, and asks
     * dlsym from the jump (often made from a signal handler), behind the loader's lock. */
    {
        const char *libs[] = {NULL, "libchain.so"};
        for (size_t i = 0; i < 2; i++) {
            if (libs[i])
                snprintf(preload, sizeof preload, "%s:%s/%s", shim, cwd, libs[i]);
            else
                snprintf(preload, sizeof preload, "%s", shim);
            char *pargv[] = {"./t_attack4", "jump", NULL};
            int st = run_limited(preload, 5, pargv);
            if (!check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                       "%s: the first longjmp returns while a thread is inside dlopen",
                       libs[i] ? "libchain.so after the shim" : "shim alone (control)"))
                diag(st == -1 ? "still blocked after 5 s (killed): the jump waits for the loader's lock"
                              : "status %d", st);
        }
    }
    return check_status();
}
