/* Shared helpers for the bench drivers. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* The restricted envp an MCP client gives a stdio server: HOME LOGNAME PATH SHELL TERM USER,
 * with the parent's values (or a plain default). */
static inline char **restricted_envp(void)
{
    static const char *keys[] = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"};
    static const char *dflt[] = {"/root", "root", "/usr/bin:/bin", "/bin/sh", "xterm", "root"};
    static char *env[8];
    static char buf[6][512];
    for (int i = 0; i < 6; i++) {
        const char *v = getenv(keys[i]);
        snprintf(buf[i], sizeof buf[i], "%s=%s", keys[i], v ? v : dflt[i]);
        env[i] = buf[i];
    }
    env[6] = NULL;
    return env;
}
#endif
