/* t_early: a child started from another library's constructor, before main, is injected like
 * any other: the shim's constructor ran first (libearly.so's constructor does the spawning). */
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
        check(dump_count(&d, "HTTPS_PROXY") == 1 && dump_count(&d, "https_proxy") == 1,
              "the child got the block although the shim had not reached main either");
    }
    struct shimlog l;
    log_read(log_path(), &l);
    check(log_count(&l, early_pid, "inject", NULL) == 1, "the log has its inject line, pid %ld",
          early_pid);
    log_free(&l);
    return check_status();
}
