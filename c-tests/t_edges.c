/* t_edges.c — proves the shim copes with legal but unusual spawns of an MCP-looking child,
 * through execve from fork() and posix_spawn: a NULL envp (Linux: empty), an empty envp,
 * `environ` set to NULL before execv, an entry without '=', a key the child has twice, 200 or
 * 10000 entries, a 100 KiB entry, 3000 argv tokens, and posix_spawn with file actions and
 * attributes. Each time the child runs; its own entries come first, unchanged and in order;
 * anything added is a block key it did not have; the host's HTTP_PROXY is there with one inject
 * line. 10000 entries may exceed the shim's fixed capacity: then the envp must be left as it
 * is, with a warn line saying so. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define OUT "out/edges.env"

static char **argv_of(size_t extra)
{
    static char *argv[3100];
    size_t a = 0;
    argv[a++] = STANDIN;
    argv[a++] = OUT;
    for (size_t i = 0; i < extra && a < 3099; i++)
        argv[a++] = "--flag";
    argv[a] = NULL;
    return argv;
}

/* A warn line from this process or the child: the shim's logged fallback. */
static const char *warn_line(const struct shimlog *l, pid_t child)
{
    const char *line = NULL;
    if (log_count(l, child, "warn", &line) || log_count(l, getpid(), "warn", &line))
        return line;
    return NULL;
}

/* The checks of one child: it ran, its own entries first and in order, only block keys it
 * lacked added, HTTP_PROXY among them, and one inject line for it. With `may_fall_back` (an
 * envp beyond any fixed capacity) the shim may instead leave the envp as it is, if a warn line
 * says so. */
static void verdict(const char *label, const char *log, pid_t pid, int status, char **envp,
                    int may_fall_back)
{
    struct dump d;
    if (!check(status == 0 && dump_read(OUT, &d) == 0, "%s: the MCP child ran (status %d)",
               label, status))
        return;
    size_t n = envp ? envp_len(envp) : 0;
    int prefix = d.n >= n;
    for (size_t i = 0; prefix && i < n; i++)
        prefix = strcmp(d.env[i], envp[i]) == 0;
    int only_block = 1;
    for (size_t i = n; prefix && i < d.n; i++) {
        char key[128];
        key_of(d.env[i], key, sizeof key);
        if (!key_in(d.env[i], BLOCK_KEYS) || (envp && envp_has(envp, key)) ||
            dump_count(&d, key) != 1) {
            only_block = 0;
            diag("%s: added %.80s", label, d.env[i]);
        }
    }
    check(prefix && only_block,
          "%s: its own %zu entries first and unchanged, then only block keys it lacked", label, n);
    struct shimlog l;
    log_read(log, &l);
    const char *line = NULL;
    int injected = dump_get(&d, "HTTP_PROXY") != NULL;
    const char *warn = warn_line(&l, pid);
    if (!injected && may_fall_back && warn) {
        check(d.n == n, "%s: left as it was, and a warn line says why (%s)", label, warn);
    } else if (!check(injected && log_count(&l, pid, "inject", &line) == 1,
                      "%s: the block added and one inject line with its pid", label)) {
        diag("%s: HTTP_PROXY %s; inject line for pid %ld: %s; warn: %s", label,
             injected ? "added" : "absent", (long)pid, line ? line : "(none)",
             warn ? warn : "(none)");
    }
    log_free(&l);
    dump_free(&d);
}

static void both(const char *what, const char *log, char **argv, char **envp, int may_fall_back)
{
    char label[128];
    snprintf(label, sizeof label, "%s, execve from fork", what);
    unlink(OUT);
    pid_t pid = fork();
    if (pid == 0) {
        execve("./" STANDIN, argv, envp);
        _exit(127);
    }
    verdict(label, log, pid, wait_exit(pid), envp, may_fall_back);

    snprintf(label, sizeof label, "%s, posix_spawn", what);
    unlink(OUT);
    int rc = posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, envp);
    verdict(label, log, pid, rc ? -rc : wait_exit(pid), envp, may_fall_back);
}

/* An envp of the SDK's entries plus `count` entries (each `size` bytes of value). */
static char **big_env(size_t count, size_t size)
{
    char **base = bare_envp();
    size_t nb = envp_len(base);
    char **env = calloc(nb + count + 1, sizeof *env);
    memcpy(env, base, nb * sizeof *env);
    for (size_t i = 0; i < count; i++) {
        env[nb + i] = malloc(size + 16);
        int k = sprintf(env[nb + i], "K%zu=", i);
        memset(env[nb + i] + k, 'v', size);
        env[nb + i][k + size] = '\0';
    }
    return env;
}

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    static char *empty[] = {NULL};
    static char *odd[] = {"HOME=/tmp/standin-home", "JUSTAKEY", "PATH=.:/usr/bin:/bin", NULL};
    static char *twice[] = {"HOME=/tmp/standin-home", "HTTPS_PROXY=" CHILD_OWN_PROXY,
                            "HTTPS_PROXY=http://child-own:2", NULL};

    both("NULL envp", log, argv_of(0), NULL, 0);
    both("empty envp", log, argv_of(0), empty, 0);
    both("an entry without '='", log, argv_of(0), odd, 0);
    both("HTTPS_PROXY twice in the child", log, argv_of(0), twice, 0);
    both("200 entries", log, argv_of(0), big_env(200, 8), 0);
    both("10000 entries", log, argv_of(0), big_env(10000, 8), 1);
    both("a 100 KiB entry", log, argv_of(0), big_env(1, 100 * 1024), 0);
    both("3000 argv tokens", log, argv_of(3000), bare_envp(), 0);

    /* environ = NULL in the child, then execv: glibc passes an empty envp. */
    unlink(OUT);
    char **saved = environ;
    pid_t pid = fork();
    if (pid == 0) {
        environ = NULL;
        execv("./" STANDIN, argv_of(0));
        _exit(127);
    }
    environ = saved;
    verdict("environ NULL, execv from fork", log, pid, wait_exit(pid), NULL, 0);

    /* File actions (stdout onto a file) and attributes (own process group, signal mask). */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "out/edges-stdout", O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    char *argv[] = {STANDIN, "/dev/stdout", NULL};
    unlink("out/edges-stdout");
    int rc = posix_spawn(&pid, "./" STANDIN, &fa, &at, argv, child_envp());
    pid_t pgid = rc == 0 ? getpgid(pid) : -1; /* before the wait: the child may still run */
    int status = rc == 0 ? wait_exit(pid) : -rc;
    struct dump d;
    int dumped = status == 0 && dump_read("out/edges-stdout", &d) == 0;
    check(dumped && d.pid == pid && dump_get(&d, "HTTP_PROXY"),
          "posix_spawn with file actions: the child's stdout went to the file, with the block");
    check(pgid == pid || (pgid == -1 && status == 0),
          "posix_spawn with attributes: the child leads its own process group (pgid %ld)",
          (long)pgid);
    if (dumped)
        dump_free(&d);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);

    /* A block key written without '=' is no variable (getenv does not see it): the child must
     * get the real one. */
    static char *bare_key[] = {"HOME=/tmp/standin-home", "HTTPS_PROXY", "PATH=.:/usr/bin:/bin",
                               NULL};
    char *argv2[] = {STANDIN, OUT, NULL};
    unlink(OUT);
    rc = posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv2, bare_key);
    status = rc == 0 ? wait_exit(pid) : -rc;
    dumped = status == 0 && dump_read(OUT, &d) == 0;
    const char *got = dumped ? dump_get(&d, "HTTPS_PROXY") : NULL;
    check(got && strcmp(got, getenv("HTTPS_PROXY")) == 0,
          "an entry 'HTTPS_PROXY' without '=' does not count as present: the child gets %s",
          got ? got : "(nothing)");
    if (dumped)
        dump_free(&d);
    return check_status();
}
