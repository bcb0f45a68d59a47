/* t_untouched.c — proves that a child the shim does not select (`plain-child`: no MCP name, not
 * a runtime or launcher), started through every interposed entry point from fork() and vfork()
 * with the same restricted envp as an MCP SDK would pass, gets that envp byte for byte, and that
 * the shim logs nothing about it. */
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"


int main(void)
{
    const char *log = log_path();
    log_reset(log);
    char **envp = child_envp();

    for (enum entry e = 0; e < EP_COUNT; e++) {
        for (enum how h = VIA_FORK; h <= last_how(e); h++) {
            char label[64];
            struct dump d;
            pid_t pid = run_standin(e, h, PLAIN, "plain", envp, &d, label, sizeof label);
            if (pid < 0)
                continue;
            check_untouched(label, &d, envp);

            struct shimlog l;
            const char *line = NULL;
            log_read(log, &l);
            if (!check(log_count(&l, pid, NULL, &line) == 0, "%s: no log line for pid %ld",
                       label, (long)pid))
                diag("%s: %s", label, line);
            log_free(&l);
            dump_free(&d);
        }
    }
    return check_status();
}
