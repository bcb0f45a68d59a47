/* envp.c — the restricted envps, reading envdump's output, and the checks of a delivered envp
 * against what was passed and what the host has. */
#define _GNU_SOURCE
#include "envp.h"
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const BLOCK_KEYS[] = {
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
    "all_proxy", "no_proxy", "grpc_proxy", "NODE_USE_ENV_PROXY", "NODE_EXTRA_CA_CERTS",
    "DENO_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO", "PIP_CERT", "AWS_CA_BUNDLE", "NPM_CONFIG_CAFILE", NULL,
};

/* Keys the runner puts in the host's environment with usable values: an MCP child that lacks
 * one must receive the host's value. */
static const char *const HOST_KEYS[] = {
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "NODE_USE_ENV_PROXY", "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE", NULL,
};

/* The block keys whose value is a CA file or directory. */
static const char *const CA_KEYS[] = {
    "NODE_EXTRA_CA_CERTS", "DENO_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT", "AWS_CA_BUNDLE", "NPM_CONFIG_CAFILE", NULL,
};

static size_t key_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

int key_in(const char *entry, const char *const keys[])
{
    size_t k = key_len(entry);
    for (size_t i = 0; keys && keys[i]; i++)
        if (strlen(keys[i]) == k && strncmp(keys[i], entry, k) == 0)
            return 1;
    return 0;
}

/* Index of the first entry of env[from..n) whose key is key, or n. */
static size_t find_key(char *const env[], size_t from, size_t n, const char *key)
{
    size_t k = strlen(key);
    while (from < n && !(strncmp(env[from], key, k) == 0 && env[from][k] == '='))
        from++;
    return from;
}

int envp_has(char *const envp[], const char *key)
{
    size_t n = envp_len(envp);
    return find_key(envp, 0, n, key) < n;
}

void key_of(const char *entry, char *out, size_t n)
{
    snprintf(out, n, "%.*s", (int)key_len(entry), entry);
}

static char *child_env[] = {
    "HOME=/tmp/standin-home", "LOGNAME=tester", "PATH=.:/usr/bin:/bin", "SHELL=/bin/sh",
    "TERM=dumb", "USER=tester", "API_TOKEN=" CHILD_SECRET, "HTTPS_PROXY=" CHILD_OWN_PROXY,
    "NO_PROXY=", NULL,
};
static char *bare_env[] = {
    "HOME=/tmp/standin-home", "LOGNAME=tester", "PATH=.:/usr/bin:/bin", "SHELL=/bin/sh",
    "TERM=dumb", "USER=tester", "API_TOKEN=" CHILD_SECRET, NULL,
};

char **child_envp(void)
{
    return child_env;
}

char **bare_envp(void)
{
    return bare_env;
}

size_t envp_len(char *const envp[])
{
    size_t n = 0;
    while (envp[n])
        n++;
    return n;
}

int dump_read(const char *path, struct dump *d)
{
    memset(d, 0, sizeof *d);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    d->buf = malloc((size_t)st.st_size + 1);
    ssize_t got = read(fd, d->buf, (size_t)st.st_size);
    close(fd);
    if (got != st.st_size || got == 0 || d->buf[got - 1] != '\0')
        return -1;
    size_t records = 0;
    for (ssize_t i = 0; i < got; i++)
        records += d->buf[i] == '\0';
    d->env = calloc(records + 1, sizeof *d->env);
    char *p = d->buf;
    if (strncmp(p, "pid=", 4) != 0)
        return -1;
    d->pid = strtol(p + 4, NULL, 10);
    p += strlen(p) + 1;
    while (p < d->buf + got) {
        d->env[d->n++] = p;
        p += strlen(p) + 1;
    }
    return 0;
}

void dump_free(struct dump *d)
{
    free(d->env);
    free(d->buf);
    memset(d, 0, sizeof *d);
}

const char *dump_get(const struct dump *d, const char *key)
{
    size_t i = find_key(d->env, 0, d->n, key);
    return i < d->n ? d->env[i] + strlen(key) + 1 : NULL;
}

size_t dump_count(const struct dump *d, const char *key)
{
    size_t c = 0;
    for (size_t i = find_key(d->env, 0, d->n, key); i < d->n;
         i = find_key(d->env, i + 1, d->n, key))
        c++;
    return c;
}

static void diag_env(const struct dump *d)
{
    for (size_t i = 0; i < d->n; i++)
        diag("  child env[%zu] %s", i, d->env[i]);
}

void check_untouched(const char *label, const struct dump *d, char *const envp[])
{
    size_t n = envp_len(envp);
    int same = d->n == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(d->env[i], envp[i]) == 0;
    if (!check(same, "%s: envp byte-for-byte what was passed (%zu entries)", label, n))
        diag_env(d);
}

void check_injected(const char *label, const struct dump *d, char *const envp[],
                    const char *const extra[])
{
    size_t n = envp_len(envp);
    int prefix = d->n >= n;
    for (size_t i = 0; prefix && i < n; i++)
        prefix = strcmp(d->env[i], envp[i]) == 0;
    if (!check(prefix, "%s: the child's own %zu entries first, unchanged, in order", label, n))
        diag_env(d);

    int host_ok = 1;
    for (size_t i = 0; HOST_KEYS[i]; i++) {
        const char *want = getenv(HOST_KEYS[i]);
        if (!want)
            die("the host's environment lacks %s: run the tests through run.sh", HOST_KEYS[i]);
        if (envp_has(envp, HOST_KEYS[i]))
            continue; /* the child has it: checked below to be kept */
        const char *got = dump_get(d, HOST_KEYS[i]);
        if (!got || strcmp(got, want) != 0) {
            host_ok = 0;
            diag("%s: %s=%s in the child, want %s", label, HOST_KEYS[i], got ? got : "(absent)",
                 want);
        }
    }
    check(host_ok, "%s: block keys the child lacked added with the host's values", label);

    int once = 1;
    for (size_t i = 0; i < d->n; i++) {
        char key[128];
        key_of(d->env[i], key, sizeof key);
        if (dump_count(d, key) != 1) {
            once = 0;
            diag("%s: %s appears %zu times", label, key, dump_count(d, key));
        }
    }
    check(once, "%s: no key twice (the child's own values kept, even an empty one)", label);

    int only_block = 1;
    for (size_t i = n; i < d->n; i++) {
        if (!key_in(d->env[i], BLOCK_KEYS) && !key_in(d->env[i], extra)) {
            only_block = 0;
            diag("%s: added entry %s is not a block key", label, d->env[i]);
        }
    }
    check(only_block && d->n > n, "%s: %zu entries added, all block keys", label, d->n - n);

    struct stat st;
    int paths_exist = 1;
    for (size_t i = n; i < d->n; i++) {
        const char *eq = strchr(d->env[i], '=');
        if (key_in(d->env[i], CA_KEYS) && (!eq || stat(eq + 1, &st) != 0)) {
            paths_exist = 0;
            diag("%s: added %s names a missing path", label, d->env[i]);
        }
    }
    check(paths_exist, "%s: every added CA key names an existing path", label);

    for (const char *const *k = MISSING_CA_KEYS; *k; k++) {
        const char *ca = getenv(*k);
        if (!ca || stat(ca, &st) == 0)
            die("the host's %s must name a file that does not exist", *k);
        check(dump_count(d, *k) == 0, "%s: %s (its path is missing) not injected", label, *k);
    }
}

const char *const MISSING_CA_KEYS[] = {"SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", NULL};
