/* t_untouched.c — proves that a child the shim does not select (`plain-child`: no MCP name, not
 * a runtime or launcher), started through every interposed entry point from fork() and vfork()
 * with the same restricted envp as an MCP SDK would pass, gets that envp byte for byte, and that
 * the shim logs nothing about it. */
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <stdio.h>
#include <unistd.h>

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    char **envp = child_envp();

    for (enum entry e = 0; e < EP_COUNT; e++) {
        for (enum how h = VIA_FORK; h <= (entry_is_exec(e) ? VIA_VFORK : VIA_FORK); h++) {
            char label[64], out[128];
            snprintf(label, sizeof label, "plain %s from %s", entry_name(e),
                     entry_is_exec(e) ? how_name(h) : "the parent");
            snprintf(out, sizeof out, "out/plain-%s-%s.env", entry_name(e), how_name(h));
            unlink(out);
            char *argv[] = {PLAIN, out, ARGV_SECRET, NULL};

            pid_t pid = spawn_via(e, h, PLAIN, argv, envp);
            int status = pid > 0 ? wait_exit(pid) : -1;
            struct dump d;
            if (!check(status == 0 && dump_read(out, &d) == 0,
                       "%s: the child ran and dumped its env", label)) {
                diag("%s: pid %ld, exit status %d", label, (long)pid, status);
                continue;
            }
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
