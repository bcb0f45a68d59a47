/* libearly.so: a library whose constructor starts an MCP server, as another library of the
 * host might, while the process is still loading, before the preloaded shim's constructor.
 * t_early links it: the spawn must go through, untouched. */
#include <spawn.h>
#include <sys/wait.h>

int early_status = -1;
long early_pid = -1;

__attribute__((constructor)) static void start_a_server_while_loading(void)
{
    char *argv[] = {"mcp-server-standin", "out/early.env", NULL};
    char *envp[] = {"PATH=.:/usr/bin:/bin", "HOME=/nonexistent", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "./mcp-server-standin", NULL, NULL, argv, envp) == 0) {
        early_pid = pid;
        waitpid(pid, &early_status, 0);
    }
}
