/* Instruction-count driver, run under callgrind with --toggle-collect=bench_loop: only the
 * K calls in bench_loop are counted, so (with shim - without shim) / K is what the hook adds.
 *
 *   hookcount METHOD K PATH ARGV0
 *     METHOD  posix_spawn | posix_spawnp : spawn PATH and wait (the hook runs in this process)
 *             execve                    : execve PATH, which must not exist, so the call fails
 *                                         and returns; the hook runs in-process each time
 *
 * The child envp is the restricted one an MCP client passes. One warm-up call runs before the
 * loop (first-call costs: lazy binding, first open of the log), outside the counted region.
 * If a malloc counter is preloaded (bench_malloc_count), it also prints the allocations made
 * inside the loop: "allocs N bytes B". */
#define _GNU_SOURCE
#include "common.h"
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

static int one(const char *method, const char *path, char *const argv[], char *const envp[])
{
    if (strcmp(method, "execve") == 0) {
        execve(path, argv, envp); /* a missing path or one that is no program: it returns */
        return errno == ENOENT || errno == ENOEXEC ? 0 : -1;
    }
    pid_t pid;
    int rc = method[11] == 'p' ? posix_spawnp(&pid, path, NULL, NULL, argv, envp)
                               : posix_spawn(&pid, path, NULL, NULL, argv, envp);
    if (rc != 0) return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return 0;
}

__attribute__((noinline)) int bench_loop(long k, const char *method, const char *path,
                                         char *const argv[], char *const envp[])
{
    int bad = 0;
    for (long i = 0; i < k; i++) bad |= one(method, path, argv, envp);
    __asm__ volatile("" ::: "memory");
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s posix_spawn|posix_spawnp|execve K PATH ARGV0\n", argv[0]);
        return 2;
    }
    const char *method = argv[1];
    long k = atol(argv[2]);
    const char *path = argv[3];
    char *cargv[] = {argv[4], NULL};
    char **envp = restricted_envp();
    unsigned long (*count)(unsigned long *) =
        (unsigned long (*)(unsigned long *))dlsym(RTLD_DEFAULT, "bench_malloc_count");

    if (one(method, path, cargv, envp) != 0) { fprintf(stderr, "warm-up call failed\n"); return 1; }
    unsigned long b0 = 0, b1 = 0, a0 = count ? count(&b0) : 0;
    int bad = bench_loop(k, method, path, cargv, envp);
    unsigned long a1 = count ? count(&b1) : 0;
    if (bad) { fprintf(stderr, "a call failed\n"); return 1; }
    if (count) printf("allocs %lu bytes %lu\n", a1 - a0, b1 - b0);
    return 0;
}
