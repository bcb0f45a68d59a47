/* healdouble.c — libhealdouble.so, a TEST DOUBLE of issue 9's start-time heal, not the product.
 * It lets the harness show that its heal scenarios (and integration's Codex scenario) pass for
 * a library that heals, before the real one does: `make -C preload-tests double` builds it, and
 * `python3 run.py --shim build/libhealdouble.so --build build` runs the scenarios against it.
 *
 * Its constructor, in a process whose command line looks like a server (a program or a node
 * script with "mcp" in its basename; any `node SCRIPT`), that lacks HTTPS_PROXY: reads
 * /proc/PPID/environ; takes MCP_ENV_SHIM and MCP_ENV_SHIM_LOG from its own environment, else
 * the parent's; unless the mode is off, sets each block key it lacks that the parent has (never
 * overriding one) and writes one inject line, via "start". No hooks, no config, no secure mode
 * (it does nothing in a set-user-ID process), no sibling keys. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

static const char *const block[] = {
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
    "all_proxy", "no_proxy", "grpc_proxy", "NODE_USE_ENV_PROXY", "NODE_EXTRA_CA_CERTS",
    "DENO_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO", "PIP_CERT", "AWS_CA_BUNDLE", "NPM_CONFIG_CAFILE"};
enum { NKEYS = sizeof block / sizeof *block, MAXFILE = 1 << 20 };

static char parent[MAXFILE];
static size_t parent_len;

/* The value of KEY in the parent's environment, or NULL. */
static const char *from_parent(const char *key)
{
    size_t n = strlen(key);
    for (size_t at = 0; at < parent_len; at += strlen(parent + at) + 1)
        if (strncmp(parent + at, key, n) == 0 && parent[at + n] == '=')
            return parent + at + n + 1;
    return NULL;
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t r;
    if (fd < 0)
        return 0;
    while (len + 1 < cap && (r = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = 0;
    close(fd);
    return len;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

__attribute__((constructor)) static void heal(void)
{
    static char cmd[4096];
    size_t n = slurp("/proc/self/cmdline", cmd, sizeof cmd);
    if (n == 0 || getauxval(AT_SECURE) || getenv("HTTPS_PROXY"))
        return;
    const char *prog = base(cmd), *script = strlen(cmd) + 1 < n ? cmd + strlen(cmd) + 1 : "";
    const char *reason = strstr(prog, "mcp")               ? "name:program"
                         : strcmp(prog, "node") != 0       ? NULL
                         : strstr(base(script), "mcp")     ? "name:script"
                         : script[0] && script[0] != '-'   ? "env-dropped"
                                                           : NULL;
    if (!reason)
        return;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/environ", (long)getppid());
    parent_len = slurp(path, parent, sizeof parent);
    const char *mode = getenv("MCP_ENV_SHIM") ? getenv("MCP_ENV_SHIM") : from_parent("MCP_ENV_SHIM");
    const char *log = getenv("MCP_ENV_SHIM_LOG") ? getenv("MCP_ENV_SHIM_LOG") : from_parent("MCP_ENV_SHIM_LOG");
    if (mode && (!strcmp(mode, "off") || !strcmp(mode, "0") || !strcmp(mode, "false") || !strcmp(mode, "no")))
        return;
    char line[4096];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int len = snprintf(line, sizeof line,
                       "{\"ts\":\"%lld.%03ld\",\"event\":\"inject\",\"pid\":%ld,\"ppid\":%ld,"
                       "\"via\":\"start\",\"exe\":\"%s\",\"reason\":\"%s\",\"from\":\"parent\","
                       "\"injected\":[",
                       (long long)ts.tv_sec, ts.tv_nsec / 1000000, (long)getpid(), (long)getppid(),
                       prog, reason);
    int injected = 0;
    for (int k = 0; k < NKEYS && len < (int)sizeof line - 64; k++) {
        const char *v = from_parent(block[k]);
        if (!getenv(block[k]) && v && setenv(block[k], v, 0) == 0)
            len += snprintf(line + len, sizeof line - (size_t)len, "%s\"%s\"", injected++ ? "," : "",
                            block[k]);
    }
    if (!injected)
        return;
    len += snprintf(line + len, sizeof line - (size_t)len, "]}\n");
    int fd = log && log[0] == '/' ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : 2;
    if (fd >= 0 && write(fd, line, (size_t)len) != len)
        fd = fd == 2 ? 2 : fd;
    if (fd > 2)
        close(fd);
}
