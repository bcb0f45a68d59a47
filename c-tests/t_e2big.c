/* t_e2big.c — proves the shim never turns a spawn that fits into one that fails: when the
 * child's own envp is just under the kernel's argument-size limit, adding the block makes the
 * exec fail with E2BIG, and the shim must run the child with its original envp (byte for byte)
 * instead; one byte more and the original fails too, and the caller gets E2BIG. The limit is
 * found by bisection with the raw execve syscall (no shim), under a small RLIMIT_STACK so that
 * it is 128 KiB; then execve (from fork) and posix_spawn go through the shim 4 KiB under the
 * limit (the block fits and is added), at the limit, and one byte past it. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OUT "out/e2big.env"
#define EXCL "out/e2big-excl.pid"
#define CHUNK 60000
#define MAX_PAD (200 * 1024)

enum via { RAW_EXECVE, SHIM_EXECVE, SHIM_POSIX_SPAWN };

static char *const ARGV[] = {STANDIN, OUT, NULL};
static char *env[32];
static char pads[MAX_PAD + 64];

/* The child's envp: the SDK's restricted one plus PADn=xxx... entries of `pad` bytes in all. */
static char **padded(size_t pad)
{
    char **base = child_envp();
    size_t n = 0, used = 0;
    while (base[n]) {
        env[n] = base[n];
        n++;
    }
    for (int i = 0; pad > 0; i++) {
        size_t v = pad > CHUNK ? CHUNK : pad;
        char *e = pads + used;
        int k = sprintf(e, "PAD%d=", i);
        memset(e + k, 'x', v);
        e[k + v] = '\0';
        used += (size_t)k + v + 1;
        env[n++] = e;
        pad -= v;
    }
    env[n] = NULL;
    return env;
}

/* 0 if the child ran (envdump exits 0), else the errno of the failed exec. */
static int attempt(enum via v, char **envp)
{
    pid_t pid;
    unlink(OUT);
    if (v == SHIM_POSIX_SPAWN) {
        int rc = posix_spawn(&pid, "./" STANDIN, NULL, NULL, ARGV, envp);
        return rc ? rc : wait_exit(pid);
    }
    pid = fork();
    if (pid == 0) {
        if (v == RAW_EXECVE)
            syscall(SYS_execve, "./" STANDIN, ARGV, envp);
        else
            execve("./" STANDIN, ARGV, envp);
        _exit(errno);
    }
    return wait_exit(pid);
}

int main(void)
{
    /* The kernel's limit is max(stack limit / 4, 128 KiB): make it 128 KiB. */
    struct rlimit rl = {512 * 1024, 512 * 1024};
    if (setrlimit(RLIMIT_STACK, &rl) != 0)
        die("setrlimit");
    if (attempt(RAW_EXECVE, padded(0)) != 0 || attempt(RAW_EXECVE, padded(MAX_PAD)) != E2BIG)
        die("the raw exec must run with no padding and fail with E2BIG with %d bytes", MAX_PAD);
    size_t lo = 0, hi = MAX_PAD; /* lo runs, hi does not */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (attempt(RAW_EXECVE, padded(mid)) == 0)
            lo = mid;
        else
            hi = mid;
    }
    diag("the largest padding that runs without the shim: %zu bytes", lo);

    static const enum via VIAS[] = {SHIM_EXECVE, SHIM_POSIX_SPAWN};
    for (size_t i = 0; i < 2; i++) {
        const char *name = VIAS[i] == SHIM_EXECVE ? "execve from fork" : "posix_spawn";
        char at[64];
        snprintf(at, sizeof at, "%s at the limit", name);
        /* 4 KiB under the limit the block fits: the padding itself does not stop injection. */
        char **envp = padded(lo - 4096);
        int r = attempt(VIAS[i], envp);
        struct dump d;
        if (check(r == 0 && dump_read(OUT, &d) == 0 && dump_get(&d, "HTTP_PROXY") != NULL,
                  "%s 4 KiB under the limit: the block is added (status %d)", name, r))
            dump_free(&d);

        envp = padded(lo);
        r = attempt(VIAS[i], envp);
        if (check(r == 0 && dump_read(OUT, &d) == 0,
                  "%s at the limit: the MCP child still runs (status %d)", name, r)) {
            check_untouched(at, &d, envp);
            dump_free(&d);
        }
        r = attempt(VIAS[i], padded(hi));
        check(r == E2BIG, "%s one byte past the limit: fails with E2BIG as without the shim (%d)",
              name, r);
    }

    /* At the limit, posix_spawn with a file action that may run once only (O_CREAT|O_EXCL, a
     * pid or lock file): the attempt with the block runs the file actions in a child whose exec
     * then fails with E2BIG; the retry must not find their effects (EEXIST). */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 3, EXCL, O_WRONLY | O_CREAT | O_EXCL, 0644);
    unlink(EXCL);
    pid_t pid;
    unlink(OUT);
    int rc = posix_spawn(&pid, "./" STANDIN, &fa, NULL, ARGV, padded(lo));
    int r = rc ? rc : wait_exit(pid);
    check(r == 0, "posix_spawn at the limit with an O_CREAT|O_EXCL file action: the child runs, as "
                  "without the shim (%s)", r ? strerrorname_np(r) : "ran");
    posix_spawn_file_actions_destroy(&fa);
    unlink(EXCL);
    return check_status();
}
