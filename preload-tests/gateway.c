/* gateway.c — an MCP client stand-in. Built twice from this file: `gateway-static` (cc -static:
 * no loader, so neither LD_PRELOAD nor /etc/ld.so.preload can put anything into it, like Codex's
 * static musl binary) and `gateway` (dynamic, for a gateway that has the hooks).
 *
 *   gateway OUTDIR CHILD [--next CHILD]...
 *   CHILD := [--env KEY=VALUE]... PROG [ARG]...
 *
 * Starts each child in turn as an MCP SDK does: posix_spawnp with stdin and stdout on pipes and
 * an environment of only HOME LOGNAME PATH SHELL TERM USER (those the gateway has) plus the
 * child's --env entries. It closes the child's stdin at once, copies the child's stdout to
 * OUTDIR/child-N.out, and waits for it. OUTDIR/gateway.txt gets "gateway pid=P ppid=Q" and one
 * "child N pid=P status=S" line per child (S: the wait status, or -errno if the spawn failed). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const sdk_defaults[] = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"};
enum { MAX_ENV = 64 };

static void die(const char *what)
{
    fprintf(stderr, "gateway: %s: %s\n", what, strerror(errno));
    exit(70);
}

static const char *own_entry(const char *key)
{
    size_t n = strlen(key);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
            return *e;
    return NULL;
}

/* Copies the child's stdout (fd) into path; returns 0 or -1. */
static int drain(int fd, const char *path)
{
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return -1;
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return close(out), -1;
            off += w;
        }
    }
    return close(out);
}

/* Spawns argv[0..] (a CHILD, ended by NULL) as child number `n`; returns its wait status or
 * -errno, and its pid through *pid. */
static int run_child(const char *outdir, int n, char **argv, char **env, pid_t *pid)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        die("pipe2");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(in[1]); /* EOF on the child's stdin: it has no request to wait for */
    char path[4096];
    snprintf(path, sizeof path, "%s/child-%d.out", outdir, n);
    if (rc != 0) {
        close(out[0]);
        *pid = 0;
        return -rc;
    }
    if (drain(out[0], path) != 0)
        die(path);
    close(out[0]);
    int status;
    while (waitpid(*pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: gateway OUTDIR [--env KEY=VALUE]... PROG [ARG]... [--next ...]\n", stderr);
        return 64;
    }
    const char *outdir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/gateway.txt", outdir);
    FILE *report = fopen(path, "w");
    if (!report)
        die(path);
    fprintf(report, "gateway pid=%ld ppid=%ld\n", (long)getpid(), (long)getppid());

    int i = 2, n = 0;
    while (i < argc) {
        char *env[MAX_ENV + 1];
        int e = 0;
        for (size_t k = 0; k < sizeof sdk_defaults / sizeof *sdk_defaults; k++) {
            const char *entry = own_entry(sdk_defaults[k]);
            if (entry)
                env[e++] = (char *)entry;
        }
        for (; i + 1 < argc && strcmp(argv[i], "--env") == 0 && e < MAX_ENV; i += 2)
            env[e++] = argv[i + 1];
        env[e] = NULL;
        int start = i;
        while (i < argc && strcmp(argv[i], "--next") != 0)
            i++;
        if (i == start) {
            fputs("gateway: a child without a program\n", stderr);
            return 64;
        }
        argv[i < argc ? i : argc] = NULL; /* ends this child's argv (argv[argc] is NULL) */
        pid_t pid;
        int status = run_child(outdir, n, argv + start, env, &pid);
        fprintf(report, "child %d pid=%ld status=%d\n", n, (long)pid, status);
        n++;
        i++; /* past --next */
    }
    return fclose(report) == 0 ? 0 : 70;
}
