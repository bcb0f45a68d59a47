/* t_inject.c — proves that an MCP-looking child started through every interposed entry point
 * (execve execv execvp execvpe execl execlp execle fexecve execveat from fork() and vfork(),
 * posix_spawn posix_spawnp) with an SDK-style restricted envp receives the host's block after
 * its own entries, unchanged and in order, keeping its own values; and that the log has one
 * inject line per child with the child's pid, the entry point, exactly the keys added, and no
 * value of the child's environment or argv. */
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <stdio.h>
#include <unistd.h>

static const char *const KEPT[] = {"HTTPS_PROXY", "NO_PROXY", NULL};

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    char **envp = child_envp();

    for (enum entry e = 0; e < EP_COUNT; e++) {
        for (enum how h = VIA_FORK; h <= (entry_is_exec(e) ? VIA_VFORK : VIA_FORK); h++) {
            char label[64], out[128];
            snprintf(label, sizeof label, "%s from %s", entry_name(e),
                     entry_is_exec(e) ? how_name(h) : "the parent");
            snprintf(out, sizeof out, "out/inject-%s-%s.env", entry_name(e), how_name(h));
            unlink(out);
            char *argv[] = {STANDIN, out, ARGV_SECRET, NULL};

            pid_t pid = spawn_via(e, h, STANDIN, argv, envp);
            int status = pid > 0 ? wait_exit(pid) : -1;
            struct dump d;
            if (!check(status == 0 && dump_read(out, &d) == 0,
                       "%s: the MCP child ran and dumped its env", label)) {
                diag("%s: pid %ld, exit status %d", label, (long)pid, status);
                continue;
            }
            check(d.pid == pid, "%s: the child's getpid() %ld is the pid the parent saw %ld",
                  label, d.pid, (long)pid);
            check_injected(label, &d, envp, NULL);

            struct shimlog l;
            log_read(log, &l);
            check_log_inject(label, &l, pid, entry_name(e), "name:program", &d, envp_len(envp),
                             KEPT);
            log_free(&l);
            dump_free(&d);
        }
    }

    struct shimlog l;
    log_read(log, &l);
    check_log_private("whole log", &l);
    log_free(&l);
    return check_status();
}
