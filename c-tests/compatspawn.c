/* compatspawn.c — a program linked against glibc's older posix_spawn and posix_spawnp
 * (GLIBC_2.2.5, what a binary built for glibc before 2.15 uses, or one that pins that version
 * for portability): unlike the 2.15 ones, they run an executable without a #! line through
 * /bin/sh instead of failing with ENOEXEC. For t_attack.
 *   compatspawn p|s SCRIPT   posix_spawnp (p) or posix_spawn (s) of SCRIPT; exits with the
 *                            error number it returned, or the child's exit status. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#if defined(__x86_64__)
__asm__(".symver posix_spawn,posix_spawn@GLIBC_2.2.5");
__asm__(".symver posix_spawnp,posix_spawnp@GLIBC_2.2.5");
#endif

extern char **environ;

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    char *args[] = {argv[2], NULL};
    pid_t pid;
    int rc = argv[1][0] == 'p' ? posix_spawnp(&pid, argv[2], NULL, NULL, args, environ)
                               : posix_spawn(&pid, argv[2], NULL, NULL, args, environ);
    if (rc != 0) {
        fprintf(stderr, "compatspawn: %s\n", strerrorname_np(rc));
        return rc;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 99;
    return WEXITSTATUS(status);
}
