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


static const char *const KEPT[] = {"HTTPS_PROXY", "NO_PROXY", NULL};

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    char **envp = child_envp();

    for (enum entry e = 0; e < EP_COUNT; e++) {
        for (enum how h = VIA_FORK; h <= last_how(e); h++) {
            char label[64];
            struct dump d;
            pid_t pid = run_standin(e, h, STANDIN, "", envp, &d, label, sizeof label);
            if (pid < 0)
                continue;
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
