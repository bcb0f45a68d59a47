/* logscan.c — field access on the shim's one-object-per-line log, and the checks of an inject
 * line against the child's real environment. */
#define _GNU_SOURCE
#include "logscan.h"
#include "check.h"
#include "envp.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *log_path(void)
{
    const char *p = getenv("MCP_ENV_SHIM_LOG");
    if (!p || p[0] != '/')
        die("MCP_ENV_SHIM_LOG must be an absolute file path: run the tests through run.sh");
    return p;
}

void log_reset(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot truncate %s", path);
    close(fd);
}

void log_read(const char *path, struct shimlog *l)
{
    memset(l, 0, sizeof *l);
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t size = fd >= 0 && fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
    l->buf = malloc(size + 1);
    ssize_t got = size ? read(fd, l->buf, size) : 0;
    if (fd >= 0)
        close(fd);
    l->buf[got > 0 ? got : 0] = '\0';
    size_t cap = 1;
    for (char *p = l->buf; *p; p++)
        cap += *p == '\n';
    l->lines = calloc(cap, sizeof *l->lines);
    for (char *save = NULL, *line = strtok_r(l->buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        l->lines[l->n++] = line;
}

void log_free(struct shimlog *l)
{
    free(l->lines);
    free(l->buf);
    memset(l, 0, sizeof *l);
}

/* Just past `"key":` at the top level of a flat object, or NULL. */
static const char *field(const char *line, const char *key)
{
    char pat[80];
    size_t k = (size_t)snprintf(pat, sizeof pat, "\"%s\":", key);
    for (const char *p = strstr(line, pat); p; p = strstr(p + 1, pat))
        if (p > line && (p[-1] == '{' || p[-1] == ','))
            return p + k;
    return NULL;
}

/* Copies the JSON string at p (at its opening quote) into out; returns the char after it. */
static const char *string_at(const char *p, char *out, size_t n)
{
    size_t o = 0;
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        if (o + 1 < n)
            out[o++] = *p;
    }
    if (n)
        out[o] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

int json_str(const char *line, const char *key, char *out, size_t n)
{
    const char *p = field(line, key);
    return p && string_at(p, out, n) != NULL;
}

int json_long(const char *line, const char *key, long *out)
{
    const char *p = field(line, key);
    char *end;
    if (!p)
        return 0;
    *out = strtol(p, &end, 10);
    return end != p;
}

int json_list(const char *line, const char *key, char items[][64], int max)
{
    const char *p = field(line, key);
    int c = 0;
    if (!p || *p++ != '[')
        return -1;
    while (*p && *p != ']') {
        char tmp[64];
        p = string_at(p, c < max ? items[c] : tmp, 64);
        if (!p)
            return -1;
        c++;
        if (*p == ',')
            p++;
    }
    return c;
}

int json_obj_str(const char *line, const char *obj, const char *key, char *out, size_t n)
{
    const char *p = field(line, obj);
    char k[128];
    if (!p || *p++ != '{')
        return 0;
    while (*p == '"') {
        p = string_at(p, k, sizeof k);
        if (!p || *p++ != ':')
            return 0;
        p = string_at(p, out, n);
        if (!p)
            return 0;
        if (strcmp(k, key) == 0)
            return 1;
        if (*p == ',')
            p++;
    }
    return 0;
}

int log_count(const struct shimlog *l, long pid, const char *event, const char **first)
{
    int c = 0;
    for (size_t i = 0; i < l->n; i++) {
        long p;
        char ev[32];
        if (!json_long(l->lines[i], "pid", &p) || p != pid)
            continue;
        if (event && (!json_str(l->lines[i], "event", ev, sizeof ev) || strcmp(ev, event) != 0))
            continue;
        if (c++ == 0 && first)
            *first = l->lines[i];
    }
    return c;
}

int log_count_event(const struct shimlog *l, const char *event)
{
    int c = 0;
    char ev[32];
    for (size_t i = 0; i < l->n; i++)
        c += json_str(l->lines[i], "event", ev, sizeof ev) && strcmp(ev, event) == 0;
    return c;
}

static int list_has(char items[][64], int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(items[i], key) == 0)
            return 1;
    return 0;
}

void check_log_inject(const char *label, const struct shimlog *l, long pid, const char *via,
                      const char *reason, const struct dump *d, size_t nenvp,
                      const char *const kept[])
{
    const char *line = NULL;
    int lines = log_count(l, pid, "inject", &line);
    char got_via[32] = "", got_reason[32] = "";
    if (line) {
        json_str(line, "via", got_via, sizeof got_via);
        json_str(line, "reason", got_reason, sizeof got_reason);
    }
    if (!check(lines == 1 && strcmp(got_via, via) == 0 &&
                   (!reason || strcmp(got_reason, reason) == 0),
               "%s: one inject line with the child's pid %ld, via %s, reason %s", label, pid, via,
               reason ? reason : "(any)")) {
        diag("%s: %d inject line(s) for pid %ld; first: %s", label, lines, pid,
             line ? line : "(none)");
        return;
    }

    long ppid = -1;
    json_long(line, "ppid", &ppid);
    if (!check(ppid == (long)getpid(), "%s: log's ppid is the child's parent, this process (%ld)",
               label, (long)getpid()))
        diag("%s: ppid %ld in %s", label, ppid, line);

    char items[64][64];
    int n = json_list(line, "injected", items, 64);
    int same = n >= 0 && (size_t)n == d->n - nenvp;
    for (size_t i = nenvp; same && i < d->n; i++) {
        char key[64];
        key_of(d->env[i], key, sizeof key);
        same = list_has(items, n, key);
    }
    if (!check(same, "%s: log's injected = the %zu keys that appeared in the child", label,
               d->n - nenvp))
        diag("%s: line %s", label, line);

    n = json_list(line, "kept", items, 64);
    size_t want = 0;
    int kept_ok = n >= 0;
    for (; kept && kept[want]; want++)
        kept_ok = kept_ok && list_has(items, n, kept[want]);
    if (!check(kept_ok && (size_t)n == want, "%s: log's kept = the %zu block keys the child had",
               label, want))
        diag("%s: line %s", label, line);

    for (const char *const *k = MISSING_CA_KEYS; *k; k++) {
        char why[64] = "";
        json_obj_str(line, "missing", *k, why, sizeof why);
        if (!check(strcmp(why, "ca-file-not-found") == 0,
                   "%s: log's missing says %s: ca-file-not-found", label, *k))
            diag("%s: line %s", label, line);
    }
}

void check_log_private(const char *label, const struct shimlog *l)
{
    static const char *const secrets[] = {CHILD_OWN_PROXY, "child-own", CHILD_SECRET,
                                          "standin-home", "argv-secret-42", NULL};
    int clean = 1;
    for (size_t i = 0; i < l->n; i++)
        for (size_t s = 0; secrets[s]; s++)
            if (strstr(l->lines[i], secrets[s])) {
                clean = 0;
                diag("%s: log line shows %s: %s", label, secrets[s], l->lines[i]);
            }
    check(clean && l->n > 0,
          "%s: the %zu log lines show no value of the child's env and no argv token", label,
          l->n);
}
