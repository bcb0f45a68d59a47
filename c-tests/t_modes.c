/* t_modes.c — proves the modes MCP_ENV_SHIM selects, read once when the shim loads: so each mode
 * runs in a sub-test, this binary started again with that MCP_ENV_SHIM and its own log.
 *   off, 0, false, no: nothing injected into any child, no log line at all;
 *   audit: nothing injected, one `audit` line per MCP child and none for a plain child;
 *   all:   the plain child injected too, logged with reason `all`.
 * Children are started through fork+execve and posix_spawn with the SDK's restricted envp. */
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const MODES[] = {"off", "0", "false", "no", "audit", "all", NULL};
static const char *const KEPT[] = {"HTTPS_PROXY", "NO_PROXY", NULL};

static const struct {
    enum entry e;
    const char *name;
} CHILDREN[] = {
    {EP_EXECVE, STANDIN}, {EP_POSIX_SPAWN, STANDIN}, {EP_EXECVE, PLAIN}, {EP_POSIX_SPAWN, PLAIN},
};
#define NCHILDREN (sizeof CHILDREN / sizeof CHILDREN[0])

static int sub(const char *mode)
{
    const char *log = log_path();
    char **envp = child_envp();
    int off = strcmp(mode, "audit") != 0 && strcmp(mode, "all") != 0;
    pid_t pids[NCHILDREN];
    struct dump d[NCHILDREN];
    char label[NCHILDREN][96];

    for (size_t i = 0; i < NCHILDREN; i++) {
        char out[128];
        int mcp = strcmp(CHILDREN[i].name, STANDIN) == 0;
        snprintf(label[i], sizeof label[i], "mode %s: %s child by %s", mode,
                 mcp ? "MCP" : "plain", entry_name(CHILDREN[i].e));
        snprintf(out, sizeof out, "out/modes-%s-%zu.env", mode, i);
        unlink(out);
        char *argv[] = {(char *)CHILDREN[i].name, out, ARGV_SECRET, NULL};
        pids[i] = spawn_via(CHILDREN[i].e, VIA_FORK, CHILDREN[i].name, argv, envp);
        int status = pids[i] > 0 ? wait_exit(pids[i]) : -1;
        if (!check(status == 0 && dump_read(out, &d[i]) == 0, "%s: ran and dumped its env",
                   label[i]))
            exit(1);
    }

    struct shimlog l;
    log_read(log, &l);
    for (size_t i = 0; i < NCHILDREN; i++) {
        int mcp = strcmp(CHILDREN[i].name, STANDIN) == 0;
        const char *line = NULL;
        if (strcmp(mode, "all") == 0) {
            check_injected(label[i], &d[i], envp, NULL);
            check_log_inject(label[i], &l, pids[i], entry_name(CHILDREN[i].e),
                             mcp ? NULL : "all", &d[i], envp_len(envp), KEPT);
            continue;
        }
        check_untouched(label[i], &d[i], envp);
        if (strcmp(mode, "audit") == 0 && mcp) {
            int n = log_count(&l, pids[i], "audit", &line);
            char via[32] = "";
            if (line)
                json_str(line, "via", via, sizeof via);
            check(n == 1 && strcmp(via, entry_name(CHILDREN[i].e)) == 0,
                  "%s: one audit line with its pid %ld, via %s", label[i], (long)pids[i], via);
            check(log_count(&l, pids[i], "inject", NULL) == 0, "%s: no inject line", label[i]);
        } else if (!check(log_count(&l, pids[i], NULL, &line) == 0, "%s: no log line",
                          label[i])) {
            diag("%s", line);
        }
    }
    if (off && !check(l.n == 0, "mode %s: the log is empty", mode))
        diag("first line: %s", l.lines[0]);
    if (!off)
        check_log_private(mode, &l);
    log_free(&l);
    for (size_t i = 0; i < NCHILDREN; i++)
        dump_free(&d[i]);
    return check_status();
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--sub") == 0)
        return sub(argv[2]);

    const char *base = log_path();
    int sub_failed = 0;
    for (size_t m = 0; MODES[m]; m++) {
        char mode[64], logvar[512];
        snprintf(mode, sizeof mode, "MCP_ENV_SHIM=%s", MODES[m]);
        snprintf(logvar, sizeof logvar, "MCP_ENV_SHIM_LOG=%s.%s", base, MODES[m]);
        log_reset(logvar + strlen("MCP_ENV_SHIM_LOG=")); /* exists, empty: run as root */
        const char *set[] = {mode, logvar, NULL};
        const char *args[] = {MODES[m], NULL};
        char **env = env_with(set, NULL);
        int status = run_sub("./t_modes", args, env);
        free(env);
        /* Its own lines carry its verdict; 1 means one of them failed. */
        check(status == 0 || status == 1, "mode %s: the sub-test ran to completion (exit status %d)", MODES[m], status);
        sub_failed |= status != 0;
    }
    return check_status() || sub_failed;
}
