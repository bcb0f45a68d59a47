/* t_secure: run by secure.sh as a set-user-ID program started by an unprivileged user, so the
 * process is in secure-execution mode (AT_SECURE). Its environment names a config, a log file,
 * a mode (all) and a proxy of that user's choosing; the shim must ignore all of them: no file
 * written, the mode not taken, and only root's config value handed to the privileged program's
 * MCP child (secure.sh checks that the shim selected it: its inject line is on stderr).
 * Usage: t_secure DIR (DIR holds mcp-server-standin and plain-child, both /usr/bin/env). */
#include "check.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Spawns DIR/NAME with a fresh environment, its stdout into DIR/NAME.out; returns that text. */
static char *spawn_env(const char *dir, const char *name, char *buf, size_t len)
{
    char path[512], out[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(out, sizeof out, "%s/%s.out", dir, name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *argv[] = {(char *)name, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", NULL};
    pid_t pid;
    int status = -1;
    if (posix_spawn(&pid, path, &fa, NULL, argv, envp) == 0)
        waitpid(pid, &status, 0);
    posix_spawn_file_actions_destroy(&fa);
    buf[0] = 0;
    FILE *f = fopen(out, "r");
    if (f) {
        size_t n = fread(buf, 1, len - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

static int exists(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: t_secure DIR");
    const char *dir = argv[1];
    check(getauxval(AT_SECURE) != 0, "the process runs in secure-execution mode (AT_SECURE)");
    check(getuid() != geteuid(), "a set-user-ID program: real uid %d, effective uid %d",
          (int)getuid(), (int)geteuid());

    char env[8192];
    spawn_env(dir, "mcp-server-standin", env, sizeof env);
    check(env[0] != 0 && strstr(env, "127.0.0.1:3128") == NULL,
          "the MCP child ran and got none of the user's proxy values");
    check(strstr(env, "HTTPS_PROXY=http://root-chose:1\n") != NULL,
          "the MCP child got root's HTTPS_PROXY from root's config");
    spawn_env(dir, "plain-child", env, sizeof env);
    check(strstr(env, "proxy") == NULL && strstr(env, "PROXY") == NULL,
          "the plain child is left alone: mode \"all\" from the user's environment and config "
          "was not taken");
    check(!exists(dir, "evil.log"), "no file at the log path MCP_ENV_SHIM_LOG names");
    check(!exists(dir, "evil-config.log"), "no file at the log path the user's config names");
    return check_status();
}
