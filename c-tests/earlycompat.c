/* earlycompat.c — libearlycompat.so and the program earlycompat, for t_attack3's earlycompat:
 * a program built against glibc's pre-2.15 posix_spawn (GLIBC_2.2.5, which runs an executable
 * without a #! line through /bin/sh) with a library whose constructor spawns before the
 * preloaded shim's constructor has run, as libearly.so does.
 *   earlycompat SCRIPT   the library's constructor spawns SCRIPT (from EARLYCOMPAT_SCRIPT),
 *                        then main spawns it again. Exit status: bit 0 set when the
 *                        constructor's spawn did not run the script (it exits 0), bit 1 when
 *                        main's did not; 8 when the constructor did not spawn at all. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#if defined(__x86_64__)
__asm__(".symver posix_spawn,posix_spawn@GLIBC_2.2.5");
#endif

extern char **environ;

#ifdef EARLY_LIBRARY
int earlycompat_rc = -1, earlycompat_status = -1;

__attribute__((constructor)) static void spawn_while_loading(void)
{
    const char *script = getenv("EARLYCOMPAT_SCRIPT");
    if (!script)
        return;
    char *args[] = {(char *)script, NULL};
    pid_t pid;
    earlycompat_rc = posix_spawn(&pid, script, NULL, NULL, args, environ);
    if (earlycompat_rc == 0)
        waitpid(pid, &earlycompat_status, 0);
}
#else
extern int earlycompat_rc, earlycompat_status;

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if (earlycompat_rc < 0)
        return 8;
    int bad = earlycompat_rc != 0 || !WIFEXITED(earlycompat_status) ||
              WEXITSTATUS(earlycompat_status) != 0;
    char *args[] = {argv[1], NULL};
    pid_t pid;
    int status;
    if (posix_spawn(&pid, argv[1], NULL, NULL, args, environ) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bad |= 2;
    return bad;
}
#endif
