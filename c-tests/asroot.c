/* asroot.c — a stand-in for doas and pkexec, for privheal.sh: installed set-user-ID root, it
 * becomes root for good (real and effective ids 0, so the program it runs is not in secure
 * mode), resets the environment to a minimal one, and execs the command itself: the command's
 * parent is the user's process that ran asroot. LD_PRELOAD=SHIM in the new environment stands
 * for /etc/ld.so.preload, which loads the library into the command whatever its environment.
 *   asroot SHIM PROGRAM ARGS... */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: asroot SHIM PROGRAM ARGS...\n", stderr);
        return 2;
    }
    char preload[4096];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", argv[1]);
    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/root", "USER=root", "LOGNAME=root", preload, NULL};
    if (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) {
        perror("asroot");
        return 3;
    }
    execve(argv[2], argv + 2, env);
    perror("asroot: execve");
    return 127;
}
