/* Wall-time driver: spawn-and-wait a program N times and print, per spawn, the time in ns and
 * the child's page faults (minor + major, from wait4's rusage).
 *
 *   spawnbench METHOD N PATH ARGV0 ENVMODE [BLOCKFILE]
 *     METHOD   posix_spawn | fork | vfork        (fork and vfork are followed by execve)
 *              fork_exit: fork, and the child exits at once (no exec, so no hook): what merely
 *                         having the shim mapped costs a fork
 *     ENVMODE  restricted  (HOME LOGNAME PATH SHELL TERM USER, as an MCP client passes)
 *              handblock   (the restricted envp, then each line of BLOCKFILE (KEY=VALUE) in
 *                           order: what a server's hand-written env block gives the child;
 *                           the file is read once, before the first spawn)
 *
 * With the shim preloaded into the driver, its posix_spawn/execve hooks run on every spawn.
 *
 * If BENCH_TURN=RFD,WFD is set (by pairbench), each spawn waits for a byte on RFD and passes
 * one on WFD after it: two drivers, with and without the shim, then take strict turns, so
 * whatever else the machine is doing hits both alike.
 *
 *   spawnbench METHOD N PATH ARGV0 rotate OUT[:PRELOAD[:KEY=VALUE]]...
 *
 * The load-time case. One driver, several children: N rounds, each spawning one child per variant, in an order that
 * rotates by one each round; a variant's child gets the driver's environment with LD_PRELOAD=
 * PRELOAD (none if empty) and KEY=VALUE added, and its lines are appended to OUT. Round i of
 * every OUT is the same moment in the same process: a paired difference between two variants
 * then holds nothing of two drivers' own differences (where each sits in memory, which CPU
 * serves it), which with two drivers moved a 15 us difference by +-5 us from run to run. */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static pid_t spawn_one(const char *method, const char *path, char *const argv[], char *const envp[])
{
    pid_t pid = -1;
    if (method[0] == 'p') {
        int rc = posix_spawn(&pid, path, NULL, NULL, argv, envp);
        if (rc != 0) { errno = rc; return -1; }
    } else if (strcmp(method, "fork_exit") == 0) {
        pid = fork();
        if (pid == 0) _exit(0);
    } else if (method[0] == 'f') {
        pid = fork();
        if (pid == 0) { execve(path, argv, envp); _exit(127); }
    } else {
        pid = vfork();
        if (pid == 0) { execve(path, argv, envp); _exit(127); }
    }
    return pid;
}

/* The restricted envp followed by the lines of FILE (KEY=VALUE each, in order). */
static char **handblock_envp(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) { perror(file); return NULL; }
    char **base = restricted_envp();
    size_t nb = 0, cap = 64;
    while (base[nb]) nb++;
    char **env = calloc(cap, sizeof *env);
    memcpy(env, base, nb * sizeof *env);
    size_t n = nb;
    char *line = NULL;
    size_t len = 0;
    ssize_t got;
    while ((got = getline(&line, &len, f)) > 0) {
        if (line[got - 1] == '\n') line[--got] = '\0';
        if (got == 0) continue;
        if (!strchr(line, '=')) { fprintf(stderr, "%s: not KEY=VALUE: %s\n", file, line); return NULL; }
        if (n + 2 > cap) { cap *= 2; env = realloc(env, cap * sizeof *env); }
        env[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    env[n] = NULL;
    return env;
}

/* One variant of `rotate`: where its lines go, and its children's environment. */
struct variant {
    const char *out;
    char **envp;
    long long *t;
    long *flt;
};

/* The driver's environment without LD_PRELOAD, then each of the non-empty extras. */
static char **variant_envp(const char *preload, const char *kv)
{
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 3, sizeof *env);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) env[j++] = environ[i];
    if (preload && *preload) {
        env[j] = malloc(strlen(preload) + 12);
        sprintf(env[j++], "LD_PRELOAD=%s", preload);
    }
    if (kv && *kv) env[j++] = (char *)kv;
    env[j] = NULL;
    return env;
}

/* Spawn-and-wait once: the time in ns and the child's faults; -1 if it failed. */
static long long timed_spawn(const char *method, const char *path, char *const argv[], char *const envp[], long *flt)
{
    long long t0 = now_ns();
    pid_t pid = spawn_one(method, path, argv, envp);
    if (pid < 0) { perror("spawn"); return -1; }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) { perror("wait4"); return -1; }
    long long t = now_ns() - t0;
    *flt = ru.ru_minflt + ru.ru_majflt;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "child failed: status %d\n", st);
        return -1;
    }
    return t;
}

static int rotate(const char *method, long n, const char *path, char *const cargv[], int nv, char **spec)
{
    struct variant *v = calloc(nv, sizeof *v);
    for (int k = 0; k < nv; k++) {
        char *out = strdup(spec[k]), *pre = strchr(out, ':'), *kv = NULL;
        if (pre) {
            *pre++ = '\0';
            kv = strchr(pre, ':');
            if (kv) *kv++ = '\0';
        }
        v[k] = (struct variant){out, variant_envp(pre, kv), calloc(n, sizeof(long long)), calloc(n, sizeof(long))};
    }
    for (long i = 0; i < n; i++)
        for (int j = 0; j < nv; j++) {
            struct variant *x = &v[(i + j) % nv];
            if ((x->t[i] = timed_spawn(method, path, cargv, x->envp, &x->flt[i])) < 0) return 1;
        }
    for (int k = 0; k < nv; k++) {
        FILE *f = fopen(v[k].out, "a");
        if (!f) { perror(v[k].out); return 1; }
        for (long i = 0; i < n; i++) fprintf(f, "%lld %ld\n", v[k].t[i], v[k].flt[i]);
        if (fclose(f) != 0) { perror(v[k].out); return 1; }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s posix_spawn|fork|vfork|fork_exit N PATH ARGV0 restricted|handblock BLOCKFILE|rotate OUT[:PRELOAD[:KEY=VALUE]]...\n", argv[0]);
        return 2;
    }
    const char *method = argv[1];
    long n = atol(argv[2]);
    const char *path = argv[3];
    char *cargv[] = {argv[4], NULL};
    char **envp;
    if (strcmp(argv[5], "rotate") == 0) {
        if (argc < 8) { fprintf(stderr, "rotate needs two variants or more\n"); return 2; }
        return rotate(method, n, path, cargv, argc - 6, argv + 6);
    }
    if (strcmp(argv[5], "restricted") == 0) {
        envp = restricted_envp();
    } else if (strcmp(argv[5], "handblock") == 0) {
        if (argc < 7) { fprintf(stderr, "handblock needs a BLOCKFILE\n"); return 2; }
        envp = handblock_envp(argv[6]);
        if (!envp) return 2;
    } else {
        fprintf(stderr, "unknown ENVMODE %s\n", argv[5]);
        return 2;
    }
    int rfd = -1, wfd = -1;
    const char *turn = getenv("BENCH_TURN");
    if (turn && sscanf(turn, "%d,%d", &rfd, &wfd) != 2) { fprintf(stderr, "bad BENCH_TURN\n"); return 2; }
    if (turn) signal(SIGPIPE, SIG_IGN);
    long long *t = calloc(n, sizeof *t);
    long *flt = calloc(n, sizeof *flt);
    for (long i = 0; i < n; i++) {
        char tok;
        if (rfd >= 0 && read(rfd, &tok, 1) != 1) { fprintf(stderr, "turn pipe closed\n"); return 1; }
        t[i] = timed_spawn(method, path, cargv, envp, &flt[i]);
        /* The other driver may be done already (EPIPE): then nobody needs the turn. */
        if (wfd >= 0 && write(wfd, "x", 1) != 1 && errno != EPIPE) { perror("turn write"); return 1; }
        if (t[i] < 0) return 1;
    }
    for (long i = 0; i < n; i++) printf("%lld %ld\n", t[i], flt[i]);
    return 0;
}
