/* assudo.c — a stand-in for sudo, for privsudo.sh: installed set-user-ID root, it becomes full
 * root (setuid(0): real, effective, saved and file system uids 0, as sudo does "so the user
 * cannot kill us"), and runs the command in a child of its own with a reset environment, waiting
 * for it: the command's parent is sudo, whose uids are all root but whose environment
 * (/proc/PID/environ) is still the user's, as sudo's is. LD_PRELOAD=SHIM in the command's
 * environment stands for /etc/ld.so.preload.
 *   assudo SHIM PROGRAM ARGS... */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: assudo SHIM PROGRAM ARGS...\n", stderr);
        return 2;
    }
    char preload[4096];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", argv[1]);
    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/root", "USER=root", "LOGNAME=root", preload, NULL};
    if (setgroups(0, NULL) != 0 || setgid(0) != 0 || setuid(0) != 0) {
        perror("assudo");
        return 3;
    }
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[2], argv + 2, env);
        perror("assudo: execve");
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 4;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
