/* t_storm.c — proves the shim is safe under concurrency: 8 threads each start 20 rounds of
 * MCP-looking children through fork()+execve, vfork()+execve and posix_spawn at once (480
 * children). Every child checks its own envp has the host's block (envdump --check) and exits 0;
 * none hangs (the whole storm runs under an alarm() watchdog); the log has exactly one intact
 * inject line per child. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 20
#define KINDS 3
#define WATCHDOG_SECONDS 240

static const char *const KIND[KINDS] = {"fork+execve", "vfork+execve", "posix_spawn"};
static char *argv_check[16];

struct worker {
    pthread_t t;
    pid_t pid[ROUNDS * KINDS];
    int status[ROUNDS * KINDS];
};

static void on_alarm(int sig)
{
    static const char msg[] = "not ok - storm: every child exited before the watchdog\n";
    (void)sig;
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

static pid_t start(int kind)
{
    char **envp = bare_envp();
    pid_t pid;
    if (kind == 2)
        return posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv_check, envp) == 0 ? pid : -1;
    pid = kind == 1 ? vfork() : fork();
    if (pid == 0) {
        execve("./" STANDIN, argv_check, envp);
        _exit(127);
    }
    return pid;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < KINDS; k++) {
            int i = r * KINDS + k;
            w->pid[i] = start(k);
            w->status[i] = -1;
            if (w->pid[i] > 0) {
                int st;
                if (waitpid(w->pid[i], &st, 0) == w->pid[i])
                    w->status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
        }
    return NULL;
}

int main(void)
{
    const char *log = log_path();
    log_reset(log);
    static char want[6][512];
    static const char *const keys[] = {"HTTPS_PROXY", "HTTP_PROXY", "NODE_USE_ENV_PROXY",
                                       "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", NULL};
    int a = 0;
    argv_check[a++] = STANDIN;
    argv_check[a++] = "--check";
    for (int k = 0; keys[k]; k++) {
        if (!getenv(keys[k]))
            die("the host's environment lacks %s: run the tests through run.sh", keys[k]);
        snprintf(want[k], sizeof want[k], "%s=%s", keys[k], getenv(keys[k]));
        argv_check[a++] = want[k];
    }
    argv_check[a++] = "API_TOKEN=" CHILD_SECRET; /* its own entry, kept */
    argv_check[a] = NULL;

    signal(SIGALRM, on_alarm);
    alarm(WATCHDOG_SECONDS);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&w[i].t, NULL, work, &w[i]) != 0)
            die("pthread_create");
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].t, NULL);
    alarm(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    check(1, "storm: %d children finished in %.1f s, under the %d s watchdog",
          THREADS * ROUNDS * KINDS, secs, WATCHDOG_SECONDS);

    struct shimlog l;
    log_read(log, &l);
    for (int k = 0; k < KINDS; k++) {
        int good = 0, logged = 0, n = 0, shown = 0;
        for (int t = 0; t < THREADS; t++)
            for (int r = 0; r < ROUNDS; r++) {
                int i = r * KINDS + k;
                n++;
                good += w[t].status[i] == 0;
                if (w[t].status[i] != 0 && shown++ < 5)
                    diag("%s: pid %ld exit status %d", KIND[k], (long)w[t].pid[i],
                         w[t].status[i]);
                logged += w[t].pid[i] > 0 && log_count(&l, w[t].pid[i], "inject", NULL) == 1;
            }
        check(good == n, "storm: %d/%d %s children had the block and exited 0", good, n, KIND[k]);
        check(logged == n, "storm: %d/%d %s children have exactly one inject line", logged, n,
              KIND[k]);
    }
    int intact = 1;
    for (size_t i = 0; i < l.n; i++) {
        size_t len = strlen(l.lines[i]);
        if (l.lines[i][0] != '{' || l.lines[i][len - 1] != '}' || strstr(l.lines[i] + 1, "{\"ts\"")) {
            intact = 0;
            diag("torn line: %s", l.lines[i]);
        }
    }
    check(intact && log_count_event(&l, "inject") == THREADS * ROUNDS * KINDS,
          "storm: %zu log lines, each one whole object, %d of them inject lines", l.n,
          log_count_event(&l, "inject"));
    check_log_private("storm", &l);
    log_free(&l);
    return check_status();
}
