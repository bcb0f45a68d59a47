/* envdump.c — the stand-in child. Installed as `mcp-server-standin` (an MCP-looking name) and
 * `plain-child` (a plain one), it proves what environment a spawn really delivered:
 *   envdump OUT [ignored args...]   writes "pid=<getpid()>" then each environ entry, every
 *                                   record NUL-terminated, to the file OUT; exits 0.
 *   envdump --check KEY=VALUE...    exits 0 iff each KEY is in environ exactly once, with VALUE
 *                                   (used where hundreds of children must check themselves).
 * It uses only write(2)/open(2) on the dump path so that a dump is exact. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int dump(const char *out)
{
    char head[32];
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return 2;
    int n = snprintf(head, sizeof head, "pid=%ld", (long)getpid());
    if (write_all(fd, head, (size_t)n + 1) != 0)
        return 3;
    for (char **e = environ; *e; e++)
        if (write_all(fd, *e, strlen(*e) + 1) != 0)
            return 3;
    return close(fd) == 0 ? 0 : 3;
}

/* 0 if `want` (KEY=VALUE) is in environ exactly once. */
static int has_once(const char *want)
{
    const char *eq = strchr(want, '=');
    size_t klen = eq ? (size_t)(eq - want) : strlen(want);
    int seen = 0, right = 0;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, want, klen) == 0 && (*e)[klen] == '=') {
            seen++;
            right = strcmp(*e, want) == 0;
        }
    }
    if (seen == 1 && right)
        return 0;
    fprintf(stderr, "envdump --check: %.*s seen %d time(s), %s\n", (int)klen, want, seen,
            right ? "right value" : "wrong value");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--check") == 0) {
        int bad = 0;
        for (int i = 2; i < argc; i++)
            bad |= has_once(argv[i]);
        return bad;
    }
    if (argc < 2) {
        fputs("usage: envdump OUT | envdump --check KEY=VALUE...\n", stderr);
        return 64;
    }
    return dump(argv[1]);
}
