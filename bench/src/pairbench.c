/* Runs two commands that take strict turns, one spawn each (see BENCH_TURN in spawnbench.c):
 *
 *   pairbench FIRST OUT_A OUT_B -- COMMAND_A... -- COMMAND_B...
 *
 * FIRST (a or b) says who spawns first; each command's stdout is appended to its file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t start(char **argv, const char *out, int rfd, int wfd, int close1, int close2)
{
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(1); }
    if (pid > 0) return pid;
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) { perror(out); _exit(1); }
    dup2(fd, 1);
    close(fd);
    close(close1);
    close(close2);
    char turn[32];
    snprintf(turn, sizeof turn, "%d,%d", rfd, wfd);
    setenv("BENCH_TURN", turn, 1);
    execvp(argv[0], argv);
    perror(argv[0]);
    _exit(127);
}

int main(int argc, char **argv)
{
    if (argc < 8 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: %s a|b OUT_A OUT_B -- COMMAND_A... -- COMMAND_B...\n", argv[0]);
        return 2;
    }
    char **a = argv + 5, **b = NULL;
    for (int i = 5; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) { argv[i] = NULL; b = argv + i + 1; break; }
    if (!b || !*b || !*a) { fprintf(stderr, "pairbench: two commands needed\n"); return 2; }
    int ab[2], ba[2]; /* a writes ab, b reads ab; b writes ba, a reads ba */
    if (pipe(ab) || pipe(ba)) { perror("pipe"); return 1; }
    pid_t pa = start(a, argv[2], ba[0], ab[1], ab[0], ba[1]);
    pid_t pb = start(b, argv[3], ab[0], ba[1], ba[0], ab[1]);
    /* Give the first turn. */
    int first = argv[1][0] == 'b' ? ab[1] : ba[1];
    if (write(first, "x", 1) != 1) { perror("write"); return 1; }
    close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
    int rc = 0, st;
    for (int i = 0; i < 2; i++) {
        pid_t p = wait(&st);
        if (p < 0) break;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "pairbench: %s failed (status %d)\n", p == pa ? "A" : p == pb ? "B" : "?", st);
            rc = 1;
        }
    }
    return rc;
}
