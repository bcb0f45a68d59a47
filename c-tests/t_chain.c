/* t_chain: the real functions are the next definitions after the shim. The shim finds them in
 * the loader's tables when a hook first needs one (not at load), so:
 * - __mcp_env_shim_selfcheck: that search agrees with dlsym(RTLD_NEXT) for every function;
 * - with another library that hooks execve and posix_spawn preloaded after the shim
 *   (libchain.so), both of the shim's hooks call that library's, which calls libc's, and the
 *   MCP child still gets the block. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"

#include <dlfcn.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run with libchain.so after the shim: one posix_spawn, one fork + execve, of MCP children
 * with a stripped environment. */
static int probe(void)
{
    char *envp[] = {"PATH=.:/usr/bin:/bin", "HOME=/nonexistent", NULL};
    char *sargv[] = {STANDIN, "out/chain-spawn.env", NULL};
    pid_t pid;
    int st;
    if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, sargv, envp) != 0) return 3;
    waitpid(pid, &st, 0);
    pid = fork();
    if (pid == 0) {
        char *eargv[] = {STANDIN, "out/chain-exec.env", NULL};
        execve("./" STANDIN, eargv, envp);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    return 0;
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "probe") == 0) return probe();

    int (*selfcheck)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "__mcp_env_shim_selfcheck");
    int differ = selfcheck ? selfcheck() : -2;
    check(differ == 0, "the shim's own search finds every real function where dlsym does (%d differ)",
          differ);

    const char *shim = getenv("LD_PRELOAD");
    char cwd[PATH_MAX], preload[2 * PATH_MAX + 32];
    if (!shim || !getcwd(cwd, sizeof cwd)) die("no LD_PRELOAD or cwd");
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s:%s/libchain.so", shim, cwd);
    unlink("out/chain.marks");
    unlink("out/chain-spawn.env");
    unlink("out/chain-exec.env");
    pid_t pid = fork();
    if (pid == 0) {
        putenv(preload);
        execl("./t_chain", "t_chain", "probe", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the probe with libchain.so after the shim ran (status %d)", st);

    char marks[256] = "";
    FILE *f = fopen("out/chain.marks", "r");
    if (f) {
        size_t n = fread(marks, 1, sizeof marks - 1, f);
        marks[n] = 0;
        fclose(f);
    }
    check(has_line(marks, "posix_spawn"), "the shim's posix_spawn called the next library's");
    check(has_line(marks, "execve"), "the shim's execve called the next library's");
    struct dump d;
    const char *dumps[] = {"out/chain-spawn.env", "out/chain-exec.env"};
    for (int i = 0; i < 2; i++) {
        if (check(dump_read(dumps[i], &d) == 0, "%s: the child dumped its environment", dumps[i])) {
            check(dump_count(&d, "HTTPS_PROXY") == 1, "%s: and got the block through the chain", dumps[i]);
            dump_free(&d);
        }
    }
    return check_status();
}
