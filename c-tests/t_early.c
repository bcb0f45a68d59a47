/* t_early: a child started from another library's constructor, before the shim's own
 * constructor has run (libearly.so's constructor does the spawning), is passed through
 * untouched: the spawn succeeds (the real function is looked up late), the child gets exactly
 * the environment it was given, and nothing is logged. The shim runs after libc's constructor
 * so that a server can heal its own environment before main; under /etc/ld.so.preload such a
 * child heals itself at its own start. */
#include "check.h"
#include "envp.h"
#include "logscan.h"

#include <sys/wait.h>

extern int early_status;
extern long early_pid;

int main(void)
{
    check(early_pid > 0 && WIFEXITED(early_status) && WEXITSTATUS(early_status) == 0,
          "a library's constructor started the MCP child (pid %ld) before main", early_pid);
    struct dump d;
    if (check(dump_read("out/early.env", &d) == 0, "the child dumped its environment")) {
        check(d.n == 2 && dump_count(&d, "PATH") == 1 && dump_count(&d, "HOME") == 1,
              "the child got exactly the environment it was given (%zu entries)", d.n);
    }
    struct shimlog l;
    log_read(log_path(), &l);
    check(log_count(&l, early_pid, NULL, NULL) == 0, "no log line for pid %ld", early_pid);
    log_free(&l);
    return check_status();
}
