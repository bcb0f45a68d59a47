/* loaderlock.c — see loaderlock.h. */
#define _GNU_SOURCE
#include "loaderlock.h"
#include "check.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *opener(void *arg)
{
    (void)arg;
    dlopen("./libattack4hold.so", RTLD_NOW);
    return NULL;
}

int hold_loader_lock(pthread_t *thread, int *release)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) || pipe2(hold, O_CLOEXEC)) return 3;
    char b[16];
    snprintf(b, sizeof b, "%d", ready[1]);
    setenv("ATTACK4_READY", b, 1);
    snprintf(b, sizeof b, "%d", hold[0]);
    setenv("ATTACK4_WAIT", b, 1);
    if (pthread_create(thread, NULL, opener, NULL)) return 4;
    char c;
    if (read(ready[0], &c, 1) != 1) return 5;
    *release = hold[1];
    return 0;
}

int run_limited(const char *preload, int secs, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (preload) setenv("LD_PRELOAD", preload, 1);
        else unsetenv("LD_PRELOAD");
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    for (int i = 0; i < secs * 100; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return st;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

void explain_status(int st)
{
    if (st == -1) diag("still running after the time limit (killed)");
    else if (WIFSIGNALED(st)) diag("killed by signal %d", WTERMSIG(st));
    else diag("exit status %d", WEXITSTATUS(st));
}

const char *shim_alone(char *cwd, size_t len)
{
    const char *shim = getenv("LD_PRELOAD");
    if (!shim || strchr(shim, ':') || strchr(shim, ' ') || !getcwd(cwd, len))
        die("run through run.sh: LD_PRELOAD must be the shim alone");
    return shim;
}
