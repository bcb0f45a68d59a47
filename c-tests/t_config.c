/* t_config.c — proves the JSON config (MCP_ENV_SHIM_CONFIG), each case in a sub-test started
 * with its own config and log, since the shim reads them once, at load:
 *   bad-syntax, unknown-field: exactly one `warn` line naming the file; injection goes on, on
 *     the defaults;
 *   values: `values` overrides the host's HTTPS_PROXY and adds a non-block key; `extra_keys`
 *     adds a key valued from the host;
 *   env-wins: MCP_ENV_SHIM and MCP_ENV_SHIM_LOG win over the config's mode and log;
 *   config-mode: with neither set, the config's mode `all` and log path apply;
 *   include-exclude: `include` selects the plain child (reason include), `exclude` spares the
 *     MCP-looking one. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_PROXY "http://from-config:8080"

static const char *const KEPT[] = {"HTTPS_PROXY", "NO_PROXY", NULL};

/* Starts `name` through e with envp and reads its dump; exits the sub-test if it did not run. */
static pid_t run_child(const char *label, enum entry e, const char *name, char **envp,
                       struct dump *d)
{
    char out[128];
    snprintf(out, sizeof out, "out/config-%d.env", (int)getpid());
    unlink(out);
    char *argv[] = {(char *)name, out, ARGV_SECRET, NULL};
    pid_t pid = spawn_via(e, VIA_FORK, name, argv, envp);
    int status = pid > 0 ? wait_exit(pid) : -1;
    if (!check(status == 0 && dump_read(out, d) == 0, "%s: the child ran and dumped its env",
               label))
        exit(1);
    return pid;
}

static void malformed(const char *c, const char *log, const char *conf)
{
    static const enum entry VIA[] = {EP_EXECVE, EP_POSIX_SPAWN};
    char label[128];
    struct dump d[2];
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        snprintf(label, sizeof label, "config %s: MCP child by %s", c, entry_name(VIA[i]));
        pid[i] = run_child(label, VIA[i], STANDIN, child_envp(), &d[i]);
        check_injected(label, &d[i], child_envp(), NULL);
    }
    /* Warnings go out with the first line a process writes, once per process: here the fork
     * child (its exec hook logs) and this process (its posix_spawn hook logs). */
    struct shimlog l;
    log_read(log, &l);
    const long writers[] = {pid[0], (long)getpid()};
    for (int w = 0; w < 2; w++) {
        const char *warn = NULL;
        int n = log_count(&l, writers[w], "warn", &warn);
        int first = 0;
        long p;
        char ev[16];
        for (size_t i = 0; i < l.n; i++)
            if (json_long(l.lines[i], "pid", &p) && p == writers[w]) {
                first = json_str(l.lines[i], "event", ev, sizeof ev) && strcmp(ev, "warn") == 0;
                break;
            }
        if (!check(n == 1 && warn && strstr(warn, conf) && first,
                   "config %s: process %ld wrote one warn line naming %s, before its first line",
                   c, writers[w], conf))
            diag("%d warn line(s) of pid %ld; first: %s", n, writers[w], warn ? warn : "(none)");
    }
    check(log_count_event(&l, "warn") == 2, "config %s: no other warn line (%d in all)", c,
          log_count_event(&l, "warn"));
    for (int i = 0; i < 2; i++) {
        snprintf(label, sizeof label, "config %s: MCP child by %s", c, entry_name(VIA[i]));
        check_log_inject(label, &l, pid[i], entry_name(VIA[i]), "name:program", &d[i],
                         envp_len(child_envp()), KEPT);
        dump_free(&d[i]);
    }
    log_free(&l);
}

static void values(const char *log)
{
    static const struct {
        const char *key, *want;
    } WANT[] = {
        {"HTTPS_PROXY", CONFIG_PROXY},
        {"CONFIG_EXTRA_KEY", "extra-value"},
        {"HOST_EXTRA_KEY", "host-extra-value"},
    };
    struct dump d;
    pid_t pid = run_child("config values", EP_POSIX_SPAWN, STANDIN, bare_envp(), &d);
    struct shimlog l;
    log_read(log, &l);
    const char *line = NULL;
    char items[64][64];
    int n = log_count(&l, pid, "inject", &line) == 1 ? json_list(line, "injected", items, 64) : -1;
    for (size_t k = 0; k < sizeof WANT / sizeof WANT[0]; k++) {
        const char *got = dump_get(&d, WANT[k].key);
        check(got && strcmp(got, WANT[k].want) == 0 && dump_count(&d, WANT[k].key) == 1,
              "config values: the child has %s=%s (got %s)", WANT[k].key, WANT[k].want,
              got ? got : "nothing");
        int listed = 0;
        for (int i = 0; i < n; i++)
            listed |= strcmp(items[i], WANT[k].key) == 0;
        if (!check(listed, "config values: the log's injected lists %s", WANT[k].key))
            diag("%s", line ? line : "(no inject line)");
    }
    check(log_count_event(&l, "warn") == 0, "config values: no warn line");
    log_free(&l);
    dump_free(&d);
}

static void selected(const char *c, const char *log, const char *name, const char *reason)
{
    char label[128];
    struct dump d;
    snprintf(label, sizeof label, "config %s: %s", c, name);
    pid_t pid = run_child(label, EP_POSIX_SPAWN, name, child_envp(), &d);
    check_injected(label, &d, child_envp(), NULL);
    struct shimlog l;
    log_read(log, &l);
    check_log_inject(label, &l, pid, "posix_spawn", reason, &d, envp_len(child_envp()), KEPT);
    log_free(&l);
    dump_free(&d);
}

static void spared(const char *c, const char *log, const char *name)
{
    char label[128];
    struct dump d;
    snprintf(label, sizeof label, "config %s: %s", c, name);
    pid_t pid = run_child(label, EP_POSIX_SPAWN, name, child_envp(), &d);
    check_untouched(label, &d, child_envp());
    struct shimlog l;
    log_read(log, &l);
    check(log_count(&l, pid, NULL, NULL) == 0, "%s: no log line", label);
    log_free(&l);
    dump_free(&d);
}

/* argv: --sub CASE LOG CONFIG [OTHER_LOG] */
static int sub(int argc, char **argv)
{
    const char *c = argv[2], *log = argv[3], *conf = argv[4];
    if (strcmp(c, "bad-syntax") == 0 || strcmp(c, "unknown-field") == 0) {
        malformed(c, log, conf);
    } else if (strcmp(c, "values") == 0) {
        values(log);
    } else if (strcmp(c, "env-wins") == 0 && argc == 6) {
        selected(c, log, STANDIN, "name:program");
        struct shimlog other;
        log_read(argv[5], &other);
        check(other.n == 0, "config env-wins: nothing in the config's log");
        log_free(&other);
    } else if (strcmp(c, "config-mode") == 0) {
        selected(c, log, PLAIN, "all");
    } else if (strcmp(c, "include-exclude") == 0) {
        selected(c, log, PLAIN, "include");
        spared(c, log, STANDIN);
    } else {
        die("unknown sub-test %s", c);
    }
    return check_status();
}

static const struct ccase {
    const char *name;
    const char *json; /* %1$s: the config's own log path */
    int env_log;      /* 1: MCP_ENV_SHIM_LOG set (the sub's log); 0: dropped */
    const char *mode; /* MCP_ENV_SHIM, or NULL to drop it */
} CASES[] = {
    {"bad-syntax", "{\"mode\": \"mcp\", \"values\": {", 1, NULL},
    {"unknown-field", "{\"colour\": \"blue\"}", 1, NULL},
    {"values",
     "{\"values\": {\"HTTPS_PROXY\": \"" CONFIG_PROXY "\", \"CONFIG_EXTRA_KEY\": \"extra-value\"},"
     " \"extra_keys\": [\"CONFIG_EXTRA_KEY\", \"HOST_EXTRA_KEY\"]}",
     1, NULL},
    {"env-wins", "{\"mode\": \"off\", \"log\": \"%1$s\"}", 1, "mcp"},
    {"config-mode", "{\"mode\": \"all\", \"log\": \"%1$s\"}", 0, NULL},
    {"include-exclude", "{\"include\": [\"" PLAIN "\"], \"exclude\": [\"" STANDIN "\"]}", 1, NULL},
};

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "--sub") == 0)
        return sub(argc, argv);

    char cwd[PATH_MAX];
    const char *base = log_path();
    int sub_failed = 0;
    if (!getcwd(cwd, sizeof cwd))
        die("getcwd");
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const struct ccase *c = &CASES[i];
        char conf[PATH_MAX + 64], envlog[PATH_MAX + 64], conflog[PATH_MAX + 64];
        char confvar[PATH_MAX + 96], logvar[PATH_MAX + 96], modevar[64];
        snprintf(conf, sizeof conf, "%s/conf/%s.json", cwd, c->name);
        snprintf(envlog, sizeof envlog, "%s.%s", base, c->name);
        snprintf(conflog, sizeof conflog, "%s.%s-config-log", base, c->name);
        log_reset(envlog); /* exists, empty: run as root */
        log_reset(conflog);
        FILE *f = fopen(conf, "w");
        if (!f)
            die("cannot write %s", conf);
        fprintf(f, c->json, conflog);
        fclose(f);

        snprintf(confvar, sizeof confvar, "MCP_ENV_SHIM_CONFIG=%s", conf);
        snprintf(logvar, sizeof logvar, "MCP_ENV_SHIM_LOG=%s", envlog);
        snprintf(modevar, sizeof modevar, "MCP_ENV_SHIM=%s", c->mode ? c->mode : "");
        const char *set[5] = {confvar, "HOST_EXTRA_KEY=host-extra-value"};
        size_t s = 2;
        if (c->env_log)
            set[s++] = logvar;
        if (c->mode)
            set[s++] = modevar;
        const char *drop[] = {"MCP_ENV_SHIM", "MCP_ENV_SHIM_LOG", NULL};
        char **env = env_with(set, drop);
        const char *args[] = {c->name, c->env_log ? envlog : conflog, conf, conflog, NULL};
        int status = run_sub("./t_config", args, env);
        free(env);
        /* Its own lines carry its verdict; 1 means one of them failed. */
        check(status == 0 || status == 1, "config %s: the sub-test ran to completion (exit status %d)", c->name, status);
        sub_failed |= status != 0;
    }
    return check_status() || sub_failed;
}
