/* t_attack5: attacks on the loader-table lookups (src/link.rs After::find/lookup, src/real.rs
 * resolve/resolve_now) as of the commits after 6504708.
 *
 * 1. The loader before libc in the link map: a program whose DT_NEEDED lists
 *    ld-linux-x86-64.so.2 before libc.so.6 (t_attack5-ldfirst, linked with the loader named
 *    first, as `gcc prog.c /lib64/ld-linux-x86-64.so.2` does). The link map is then
 *    prog, vdso, shim, ld.so, libc: After::find cuts the list at ld.so (AT_BASE), so libc is
 *    not searched, yet sure() holds (ld.so is "after the shim"). Every real function is then
 *    settled as missing: posix_spawn returns ENOSYS, a failed execve leaves errno untouched
 *    (errno_location is a static dummy), and longjmp aborts the process. At 6504708 and
 *    without the shim all of it works.
 * 2. A library mapped below its link-time address (l_addr wraps, 0xffff...): link::ptr takes
 *    its relocated dynamic-section pointers (v < l_addr) for unrelocated offsets and adds
 *    l_addr again; the first lookup that reaches the object reads a wild pointer: SIGSEGV in
 *    the constructor, in every process (also at 6504708).
 * 3. An IFUNC found by a lookup is resolved by calling its resolver from the hook on first use.
 *    A posix_spawn interposer after the shim whose resolver calls dlsym(RTLD_NEXT) (it must
 *    find the next one) then takes the loader's lock from the hook: the first posix_spawn
 *    blocks while another thread is inside dlopen (and runs non-async-signal-safe code from a
 *    signal handler or a vfork child). Without the shim (-z now) the resolver ran at load; at
 *    6504708 IFUNC was Unsure and settled in the constructor.
 * 4. glibc's pre-2.15 posix_spawn, with libchain.so (a posix_spawn hook) preloaded after the
 *    shim and a SysV-hash-only library between them: the lookup is Unsure, so the constructor
 *    asks dlvsym(RTLD_NEXT, "posix_spawn", "GLIBC_2.2.5"), which (vers.hidden = 1) refuses
 *    libchain's unversioned posix_spawn and returns libc's: libchain is skipped. With the
 *    tables (shim:libchain.so), without the shim, and at 6504708, libchain is called. */
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
#include <unistd.h>

extern char **environ;

/* posix_spawn, a failing execve and a longjmp; the exit status has a bit for each failure. */
static int basic_probe(void)
{
    static volatile int bad;
    bad = 0;
    char *argv[] = {PLAIN, "out/attack5-basic.env", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "./" PLAIN, NULL, NULL, argv, environ);
    if (rc == 0) {
        int st;
        waitpid(pid, &st, 0);
    } else {
        fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
        bad |= 1;
    }
    char *nargv[] = {"nonexistent", NULL};
    errno = 0;
    int r = execve("./attack5-nonexistent", nargv, environ);
    if (r != -1 || errno != ENOENT) {
        fprintf(stderr, "execve: %d, errno %d\n", r, errno);
        bad |= 2;
    }
    static jmp_buf j;
    static volatile int jumped;
    if (setjmp(j) == 0) {
        longjmp(j, 1);
    }
    jumped = 1;
    return bad | (jumped ? 0 : 4);
}

/* A thread is inside dlopen (the loader's lock held) when the main thread first calls
 * posix_spawn; the hold ends when the main thread closes its end of the pipe. */
static int hold_probe(void)
{
    pthread_t t;
    int release, e = hold_loader_lock(&t, &release);
    if (e) return e;
    char *argv[] = {PLAIN, "out/attack5-hold.env", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "./" PLAIN, NULL, NULL, argv, environ);
    if (rc == 0) waitpid(pid, NULL, 0);
    close(release);
    pthread_join(t, NULL);
    return rc;
}

static int ok(int st) { return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0; }

static int marked(void)
{
    char buf[256] = "";
    int fd = open("out/chain.marks", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && strstr(buf, "posix_spawn") != NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "basic") == 0) return basic_probe();
    if (argc > 1 && strcmp(argv[1], "hold") == 0) return hold_probe();

    char cwd[PATH_MAX];
    const char *shim = shim_alone(cwd, sizeof cwd);
    char preload[4 * PATH_MAX];

    /* 1. The loader before libc in the link map. */
    {
        char *pargv[] = {"./t_attack5-ldfirst", "basic", NULL};
        int st = run_limited(NULL, 10, pargv);
        if (!check(ok(st), "ld.so before libc, no shim (control): spawn, errno, longjmp work"))
            explain_status(st);
        st = run_limited(shim, 10, pargv);
        if (!check(ok(st), "ld.so before libc in the link map: posix_spawn starts the child, a "
                           "failed execve sets errno, longjmp returns"))
            diag("bits: 1 posix_spawn failed (ENOSYS), 2 errno not ENOENT, 4 no jump; signal 6: "
                 "longjmp found no real longjmp and aborted"), explain_status(st);
    }

    /* 2. A library mapped below its link-time address. */
    {
        snprintf(preload, sizeof preload, "%s/libattack5hi.so:%s/libattack5hi2.so", cwd, cwd);
        char *pargv[] = {"./t_attack5", "basic", NULL};
        int st = run_limited(preload, 10, pargv);
        if (!check(ok(st), "two libraries linked at one fixed base, no shim (control)"))
            explain_status(st);
        snprintf(preload, sizeof preload, "%s:%s/libattack5hi.so:%s/libattack5hi2.so", shim, cwd,
                 cwd);
        st = run_limited(preload, 10, pargv);
        if (!check(ok(st), "a library after the shim mapped below its link address (l_addr "
                           "wraps): the process survives the constructor"))
            explain_status(st);
    }

    /* 3. An IFUNC posix_spawn after the shim whose resolver calls dlsym. */
    {
        char *pargv[] = {"./t_attack5", "hold", NULL};
        snprintf(preload, sizeof preload, "%s/libattack5ifunc.so", cwd);
        int st = run_limited(preload, 5, pargv);
        if (!check(ok(st), "IFUNC posix_spawn interposer, no shim (control): the first "
                           "posix_spawn goes through while a thread is inside dlopen"))
            explain_status(st);
        st = run_limited(shim, 5, pargv);
        if (!check(ok(st), "shim alone (control): the first posix_spawn goes through while a "
                           "thread is inside dlopen"))
            explain_status(st);
        snprintf(preload, sizeof preload, "%s:%s/libattack5ifunc.so", shim, cwd);
        st = run_limited(preload, 5, pargv);
        if (!check(ok(st), "an IFUNC posix_spawn after the shim: the first posix_spawn goes "
                           "through while a thread is inside dlopen"))
            diag("the shim calls the IFUNC's resolver from the hook; it calls dlsym, which waits "
                 "for the loader's lock"), explain_status(st);
    }

    /* 4. The pre-2.15 posix_spawn, libchain.so after the shim, an Unsure object between. */
    {
        int fd = open("out/attack5-noshebang", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (fd < 0 || write(fd, "exit 7\n", 7) != 7) die("out/attack5-noshebang");
        close(fd);
        struct { const char *name; int shimmed; const char *libs; } cases[] = {
            {"libchain.so after a SysV library, no shim (control)", 0,
             "libattack4sysv.so:%s/libchain.so"},
            {"libchain.so right after the shim (control, the tables' answer)", 1,
             "libchain.so"},
            {"libchain.so after the shim and a SysV-hash-only library", 1,
             "libattack4sysv.so:%s/libchain.so"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            char libs[2 * PATH_MAX + 64];
            snprintf(libs, sizeof libs, "%s/", cwd);
            size_t n = strlen(libs);
            snprintf(libs + n, sizeof libs - n, cases[i].libs, cwd);
            if (cases[i].shimmed) snprintf(preload, sizeof preload, "%s:%s", shim, libs);
            else snprintf(preload, sizeof preload, "%s", libs);
            unlink("out/chain.marks");
            char *pargv[] = {"./compatspawn", "s", "out/attack5-noshebang", NULL};
            int st = run_limited(preload, 10, pargv);
            if (!check(st != -1 && marked(),
                       "%s: pre-2.15 posix_spawn goes through libchain's posix_spawn",
                       cases[i].name))
                diag("libchain.so was not called (dlvsym refuses its unversioned definition)"),
                    explain_status(st);
        }
    }
    return check_status();
}
