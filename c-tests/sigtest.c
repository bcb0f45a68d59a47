/* sigtest.c — see sigtest.h. */
#define _GNU_SOURCE
#include "sigtest.h"
#include "check.h"
#include "logscan.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

const unsigned long long WRITE_SIGNALS =
    (1ULL << (SIGPIPE - 1)) | (1ULL << (SIGTTOU - 1)) | (1ULL << (SIGXFSZ - 1));

int read_status(const char *path, unsigned long long *blocked, unsigned long long *pending)
{
    FILE *st = fopen(path, "r");
    char line[256];
    unsigned long long v;
    int found = 0;
    *blocked = 0;
    if (pending)
        *pending = 0;
    while (st && fgets(line, sizeof line, st)) {
        if (sscanf(line, "SigBlk: %llx", &v) == 1)
            *blocked = v, found = 1;
        if (pending && (sscanf(line, "SigPnd: %llx", &v) == 1 ||
                        sscanf(line, "ShdPnd: %llx", &v) == 1))
            *pending |= v;
    }
    if (st)
        fclose(st);
    return found;
}

int signal_on_log_write(int sig)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", log_path());
    char *slash = strrchr(dir, '/');
    if (!slash)
        die("log path");
    *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct f_owner_ex owner = {.type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid)};
    if (fd < 0 || fcntl(fd, F_SETSIG, sig) != 0 || fcntl(fd, F_SETOWN_EX, &owner) != 0 ||
        fcntl(fd, F_NOTIFY, DN_MODIFY) != 0)
        die("dnotify on %s", dir);
    return fd;
}

void exec_reporter(const char *out)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    char *argv[] = {"cat", "/proc/self/status", NULL};
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    execve("/bin/cat", argv, env);
    _exit(126);
}

void trap_syscall(long nr)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        _exit(90);
}
