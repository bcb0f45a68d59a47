/* t_attack.c — a hostile host against the shim: each case is something a real program or
 * sandbox does, that works without the shim and must work the same with it.
 *   envvalue   an envp entry whose value runs into an unreadable page: execve returns -1/EFAULT
 *              and posix_spawn returns EFAULT without the shim (the kernel reads the value);
 *              the shim reads only the key when probing, then measures the whole entry;
 *   nsprobe    process_vm_readv refused with EPERM, as systemd-nspawn's filter does for a
 *              container without CAP_SYS_PTRACE: the bad pointers of t_harm's badptr on a
 *              PROT_NONE page still give -1/EFAULT (mincore, the fallback, says "mapped");
 *   graveyard  24 threads that each start one MCP server through vfork+execve (CPython's
 *              _posixsubprocess does this) and then wait, 40 threads one after the other that
 *              each start one and exit, or 20 threads that each start 10 at once: every server
 *              gets the block, and so does a fork+execve child afterwards;
 *   packet     stderr a packet-mode pipe (pipe2 O_DIRECT): the host's own packets keep their
 *              boundaries after a line was logged;
 *   twins      a server that declares its own HTTPS_PROXY (or an empty NO_PROXY) is not given an
 *              https_proxy (no_proxy) with another value: curl, Python and Node read the
 *              lower-case twin first, so that would override the server's own choice;
 *   allocfail  a config of 900 KB (under the 1 MiB limit) in a process whose RLIMIT_DATA leaves
 *              no room for it: the process still runs (the shim may give up, never abort it);
 *   auditonce  mode audit with the server loading the shim too (LD_PRELOAD kept, as
 *              /etc/ld.so.preload does): one line for the server, not two;
 *   sharedvm   a child made with clone(CLONE_VM) without CLONE_VFORK (it shares memory and the
 *              thread pointer, and the parent runs on) execs a server while the parent thread
 *              keeps calling exec hooks: the child's exec works, as without the shim;
 *   captured   a client the hooks cannot see (a static one: the raw execve system call) runs
 *              `python3 ...` with a minimal environment and its stdin, stdout and stderr piped,
 *              as Python's capture_output and CPython's own script_helper do; the child loads
 *              the shim (LD_PRELOAD standing for /etc/ld.so.preload) and heals itself: its line
 *              must not land in the stderr its parent captures (issue 7: never into a child's
 *              redirected stdio), with the default log (stderr);
 *   dotdot     as root, MCP_ENV_SHIM_LOG=<dir>/sub/../shim.log, an existing root-owned file with
 *              one link and no symlink on the way: the line is written there, as it is for an
 *              unprivileged process (openat2 refuses a mode without O_CREAT: EINVAL);
 *   sigmask    a signal handler that execs (a watchdog, a crash reporter) runs while a hook is
 *              writing its line: the program it starts must not inherit the SIGPIPE, SIGTTOU
 *              and SIGXFSZ the shim blocks for the write. Made deterministic with a seccomp
 *              filter that traps rt_sigpending (SIGSYS), the call the shim makes right after
 *              blocking them; the handler execs `cat /proc/self/status`;
 *   compat     a program linked against glibc's older posix_spawn/posix_spawnp (GLIBC_2.2.5,
 *              compatspawn.c) runs a script without #! (through /bin/sh), as without the shim;
 *   bytelog    MCP_ENV_SHIM_LOG naming a file whose name is not UTF-8 (paths are bytes): the
 *              line goes to that file, not to one named with U+FFFD in its place. */
#define _GNU_SOURCE
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "sigtest.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void describe(char *buf, size_t n, int status)
{
    if (status >= 128)
        snprintf(buf, n, "killed by signal %d", status - 128);
    else
        snprintf(buf, n, "exit %d", status);
}

/* A NUL-less string `text` that ends exactly where a PROT_NONE page begins. */
static char *runs_into_guard(const char *text)
{
    char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + 4096, 4096, PROT_NONE) != 0)
        die("mmap");
    size_t n = strlen(text);
    memcpy(m + 4096 - n, text, n);
    return m + 4096 - n;
}

/* --- envvalue ----------------------------------------------------------------------------- */

/* A child that execs (how 0: from fork, 1: from vfork) or posix_spawns (2) `path` and exits 0
 * if that failed with EFAULT. */
static __attribute__((noinline)) pid_t start_bad(int how, const char *path, char *const argv[],
                                                 char *const envp[])
{
    fflush(stdout);
    pid_t pid = how == 1 ? vfork() : fork();
    if (pid == 0) {
        int rc;
        if (how == 2) {
            pid_t c;
            rc = posix_spawn(&c, path, NULL, NULL, argv, envp);
            _exit(rc == EFAULT ? 0 : 100 + rc);
        }
        rc = execve(path, argv, envp);
        _exit(rc == -1 && errno == EFAULT ? 0 : 100 + errno);
    }
    return pid;
}

static void t_envvalue(void)
{
    char *value = runs_into_guard("API_TOKEN=abcdef");
    char *key = runs_into_guard("NO_EQUALS_SIGN");
    static const char *const PROGS[] = {PLAIN, STANDIN};
    for (int p = 0; p < 2; p++) {
        for (int k = 0; k < 2; k++) {
            char *envp[] = {"PATH=.:/usr/bin:/bin", k ? key : value, NULL};
            char *argv[] = {(char *)PROGS[p], "out/attack-envvalue.env", NULL};
            const char *what = k ? "an entry without '=' running" : "a value running";
            char path[64], st[48];
            snprintf(path, sizeof path, "./%s", PROGS[p]);
            for (int how = 0; how < 3; how++) {
                int status = wait_exit(start_bad(how, path, argv, envp));
                describe(st, sizeof st, status);
                static const char *const HOW[] = {"execve from fork", "execve from vfork",
                                                  "posix_spawn"};
                check(status == 0, "envvalue: %s, %s child, envp with %s into a PROT_NONE page: "
                                   "EFAULT as without the shim (%s)",
                      HOW[how], PROGS[p], what, st);
            }
        }
    }
}

/* --- nsprobe ------------------------------------------------------------------------------ */

/* Makes process_vm_readv fail with EPERM for this process, as systemd-nspawn's filter does. */
static void refuse_process_vm_readv(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        _exit(90);
}

static void t_nsprobe(void)
{
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ok_argv[] = {STANDIN, "out/attack-ns.env", NULL};
    char *argv0_bad[] = {page, NULL};
    char *envp0_bad[] = {page, NULL};
    struct {
        const char *what;
        const char *path;
        char *const *argv;
        char *const *envp;
    } cases[] = {
        {"path", page, ok_argv, bare_envp()},
        {"argv", "./" STANDIN, (char *const *)page, bare_envp()},
        {"envp", "./" STANDIN, ok_argv, (char *const *)page},
        {"argv[0]", "./" STANDIN, argv0_bad, bare_envp()},
        {"envp[0]", "./" STANDIN, ok_argv, envp0_bad},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            refuse_process_vm_readv();
            int rc = execve(cases[c].path, cases[c].argv, cases[c].envp);
            _exit(rc == -1 && errno == EFAULT ? 0 : 100 + errno);
        }
        char st[48];
        int status = wait_exit(pid);
        describe(st, sizeof st, status);
        check(status == 0, "nsprobe: process_vm_readv refused (EPERM), execve with %s a PROT_NONE "
                           "page: -1/EFAULT (%s)", cases[c].what, st);
    }
}

/* --- graveyard ---------------------------------------------------------------------------- */

#define WAITERS 24
#define SERIAL 40
static pthread_barrier_t all_started;
static int got_block[SERIAL];

/* vfork+execve of the stand-in with the SDK's bare envp; records whether it got HTTPS_PROXY. */
static void *one_server(void *arg)
{
    long i = (long)arg;
    char out[64];
    snprintf(out, sizeof out, "out/attack-grave-%ld.env", i);
    unlink(out);
    char *argv[] = {STANDIN, out, NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve("./" STANDIN, argv, bare_envp());
        _exit(127);
    }
    struct dump d;
    if (pid > 0 && wait_exit(pid) == 0 && dump_read(out, &d) == 0) {
        got_block[i] = dump_get(&d, "HTTPS_PROXY") != NULL;
        dump_free(&d);
    }
    return NULL;
}

static void *server_then_wait(void *arg)
{
    one_server(arg);
    pthread_barrier_wait(&all_started); /* the thread lives on, and starts nothing more */
    return NULL;
}

static int count_blocks(int n, char *which, size_t len)
{
    int got = 0;
    for (int i = 0; i < n && (size_t)i + 1 < len; i++) {
        got += got_block[i];
        which[i] = got_block[i] ? '1' : '0';
        which[i + 1] = 0;
    }
    return got;
}

#define STORM_THREADS 20
#define STORM_EACH 10
static int storm_missed;

static void *storm_thread(void *arg)
{
    long i = (long)arg;
    for (int k = 0; k < STORM_EACH; k++) {
        char out[64];
        snprintf(out, sizeof out, "out/attack-storm-%ld.env", i);
        unlink(out);
        char *argv[] = {STANDIN, out, NULL};
        pid_t pid = vfork();
        if (pid == 0) {
            execve("./" STANDIN, argv, bare_envp());
            _exit(127);
        }
        struct dump d;
        int got = 0;
        if (pid > 0 && wait_exit(pid) == 0 && dump_read(out, &d) == 0) {
            got = dump_get(&d, "HTTPS_PROXY") != NULL;
            dump_free(&d);
        }
        if (!got)
            __atomic_fetch_add(&storm_missed, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* 20 threads that keep starting servers by vfork+execve, all at once. */
static int sub_grave_storm(void)
{
    pthread_t t[STORM_THREADS];
    for (long i = 0; i < STORM_THREADS; i++)
        if (pthread_create(&t[i], NULL, storm_thread, (void *)i) != 0)
            die("pthread_create");
    for (int i = 0; i < STORM_THREADS; i++)
        pthread_join(t[i], NULL);
    check(storm_missed == 0, "graveyard: %d threads each start %d MCP servers by vfork+execve at "
                             "once: every server got the block (%d of %d did not)",
          STORM_THREADS, STORM_EACH, storm_missed, STORM_THREADS * STORM_EACH);
    return check_status();
}

/* Each in a process of its own: the shim's table is per process. */
static int sub_grave_wait(void)
{
    char which[SERIAL + 1];
    pthread_barrier_init(&all_started, NULL, WAITERS + 1);
    pthread_t t[WAITERS];
    for (long i = 0; i < WAITERS; i++) {
        if (pthread_create(&t[i], NULL, server_then_wait, (void *)i) != 0)
            die("pthread_create");
        usleep(10000);
    }
    pthread_barrier_wait(&all_started);
    for (int i = 0; i < WAITERS; i++)
        pthread_join(t[i], NULL);
    int got = count_blocks(WAITERS, which, sizeof which);
    if (!check(got == WAITERS, "graveyard: %d threads each start one MCP server by vfork+execve "
                               "and wait: every server got the block (%d did)", WAITERS, got))
        diag("per thread, in start order: %s", which);
    /* Then a fork child of the main thread: its exec records its mapping in the same table. */
    struct dump d;
    char *argv[] = {STANDIN, "out/attack-grave-fork.env", "x", NULL};
    unlink(argv[1]);
    pid_t pid = spawn_via(EP_EXECVE, VIA_FORK, STANDIN, argv, bare_envp());
    int ran = pid > 0 && wait_exit(pid) == 0 && dump_read(argv[1], &d) == 0;
    check(ran && dump_get(&d, "HTTPS_PROXY") != NULL,
          "graveyard: after them, a fork+execve from the main thread gets the block too");
    if (ran)
        dump_free(&d);
    return check_status();
}

static int sub_grave_serial(void)
{
    char which[SERIAL + 1];
    for (long i = 0; i < SERIAL; i++) {
        pthread_attr_t a;
        pthread_t th;
        pthread_attr_init(&a);
        /* A stack size of its own: glibc does not hand this thread an exited one's stack. */
        pthread_attr_setstacksize(&a, (size_t)(256 + 16 * i) * 1024);
        if (pthread_create(&th, &a, one_server, (void *)i) != 0)
            die("pthread_create");
        pthread_join(th, NULL);
        pthread_attr_destroy(&a);
    }
    int got = count_blocks(SERIAL, which, sizeof which);
    if (!check(got == SERIAL, "graveyard: %d threads one after the other each start one MCP "
                              "server by vfork+execve and exit: every server got the block (%d "
                              "did)", SERIAL, got))
        diag("per thread, in start order: %s", which);
    return check_status();
}

static pid_t start_sub(const char *name, int err, const char *const set[]);

static void t_graveyard(void)
{
    static const char *const SUBS[] = {"grave-wait", "grave-serial", "grave-storm"};
    for (int i = 0; i < 3; i++) {
        int status = wait_exit(start_sub(SUBS[i], -1, NULL));
        check(status == 0 || status == 1, "graveyard: the %s sub-test ran (status %d)", SUBS[i],
              status);
    }
}

/* --- packet ------------------------------------------------------------------------------- */

static int sub_packet(void)
{
    char *argv[] = {STANDIN, "out/attack-packet.env", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, bare_envp()) != 0 || wait_exit(pid) != 0)
        return 1;
    if (write(2, "PKT1", 4) != 4 || write(2, "PKT2", 4) != 4)
        return 2;
    return 0;
}

/* Starts `./t_attack --sub name` with stderr `err` (-1: keep) and the environment of this
 * process with `set` added; returns its pid. */
static pid_t start_sub(const char *name, int err, const char *const set[])
{
    char **env = env_with(set, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (err >= 0)
            dup2(err, 2);
        char *argv[] = {"./t_attack", "--sub", (char *)name, NULL};
        execve("./t_attack", argv, env);
        _exit(127);
    }
    free(env);
    return pid;
}

static void t_packet(void)
{
    int p[2];
    if (pipe2(p, O_DIRECT) != 0)
        die("pipe2 O_DIRECT");
    const char *const set[] = {"MCP_ENV_SHIM_LOG=stderr", NULL};
    pid_t pid = start_sub("packet", p[1], set);
    close(p[1]);
    int status = wait_exit(pid);
    char buf[8192];
    int pkt1 = 0, pkt2 = 0, reads = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) {
        reads++;
        pkt1 += n == 4 && memcmp(buf, "PKT1", 4) == 0;
        pkt2 += n == 4 && memcmp(buf, "PKT2", 4) == 0;
        if (n != 4)
            diag("a read of %zd bytes, ending in \"%.*s\"", n, (int)(n < 24 ? n : 24),
                 buf + (n < 24 ? 0 : n - 24));
    }
    close(p[0]);
    check(status == 0, "packet: the host ran (status %d)", status);
    check(pkt1 == 1 && pkt2 == 1, "packet: the host's two packets on its packet-mode stderr each "
                                  "arrive as a packet of their own (%d reads)", reads);
}

/* --- twins -------------------------------------------------------------------------------- */

static void t_twins(void)
{
    char *env[] = {"HOME=/tmp/standin-home", "PATH=.:/usr/bin:/bin", "TERM=dumb",
                   "HTTPS_PROXY=" CHILD_OWN_PROXY, "NO_PROXY=", NULL};
    char *argv[] = {STANDIN, "out/attack-twins.env", NULL};
    unlink(argv[1]);
    pid_t pid;
    struct dump d;
    if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, env) != 0 || wait_exit(pid) != 0 ||
        dump_read(argv[1], &d) != 0)
        die("twins: the stand-in did not run");
    const char *https = dump_get(&d, "https_proxy");
    const char *no = dump_get(&d, "no_proxy");
    check(!https || strcmp(https, CHILD_OWN_PROXY) == 0,
          "twins: a server with its own HTTPS_PROXY=%s is not given https_proxy=%s (read first by "
          "curl, Python, Node)", CHILD_OWN_PROXY, https ? https : "(none)");
    check(!no || !*no, "twins: a server with its own empty NO_PROXY= is not given no_proxy=%s",
          no ? no : "(none)");
    dump_free(&d);
}

/* --- allocfail ---------------------------------------------------------------------------- */

#define BIG_CONFIG "out/attack-big-config.json"

static void write_big_config(void)
{
    FILE *f = fopen(BIG_CONFIG, "w");
    if (!f)
        die("fopen %s", BIG_CONFIG);
    fputs("{\"include\":[", f);
    for (int i = 0; i < 40000; i++)
        fprintf(f, "%s\"weather-%06d-*-x?y\"", i ? "," : "", i);
    fputs("]}\n", f);
    fclose(f);
}

/* Runs the plain child under RLIMIT_DATA `limit` with MCP_ENV_SHIM_CONFIG=config. */
static int run_limited(rlim_t limit, const char *config)
{
    char var[256];
    snprintf(var, sizeof var, "MCP_ENV_SHIM_CONFIG=%s", config);
    const char *const set[] = {var, NULL};
    char **env = env_with(set, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {limit, limit};
        if (setrlimit(RLIMIT_DATA, &r) != 0)
            _exit(90);
        char *argv[] = {PLAIN, "/dev/null", NULL};
        execve("./" PLAIN, argv, env);
        _exit(127);
    }
    free(env);
    return wait_exit(pid);
}

static void t_allocfail(void)
{
    write_big_config();
    const char *empty = getenv("MCP_ENV_SHIM_CONFIG");
    if (!empty)
        die("no MCP_ENV_SHIM_CONFIG: run through run.sh");
    const rlim_t limit = 1536 * 1024;
    if (run_limited(limit, empty) != 0)
        die("allocfail: the plain child does not run under RLIMIT_DATA %lu with the empty config",
            (unsigned long)limit);
    char st[48];
    int status = run_limited(limit, BIG_CONFIG);
    describe(st, sizeof st, status);
    check(status == 0, "allocfail: under RLIMIT_DATA=%lu KiB, which the process needs with an "
                       "empty config, a 900 KB config does not kill it (%s)",
          (unsigned long)limit / 1024, st);
}

/* --- auditonce ---------------------------------------------------------------------------- */

static int sub_audit(void)
{
    char pre[1024];
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", getenv("LD_PRELOAD"));
    /* The SDK's stripped environment; LD_PRELOAD stands for /etc/ld.so.preload. */
    char *env[] = {"HOME=/tmp/standin-home", "PATH=.:/usr/bin:/bin", pre, NULL};
    char *argv[] = {STANDIN, "out/attack-audit.env", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, env) != 0 || wait_exit(pid) != 0)
        return 1;
    printf("%ld\n", (long)pid);
    return 0;
}

static void t_auditonce(void)
{
    static const char *const MODES[] = {"mcp", "audit"};
    for (int m = 0; m < 2; m++) {
        const char *log = log_path();
        log_reset(log);
        char mode[64];
        snprintf(mode, sizeof mode, "MCP_ENV_SHIM=%s", MODES[m]);
        const char *const set[] = {mode, NULL};
        int p[2];
        if (pipe(p) != 0)
            die("pipe");
        char **env = env_with(set, NULL);
        fflush(stdout);
        pid_t sub = fork();
        if (sub == 0) {
            dup2(p[1], 1);
            char *argv[] = {"./t_attack", "--sub", "audit", NULL};
            execve("./t_attack", argv, env);
            _exit(127);
        }
        free(env);
        close(p[1]);
        char buf[64] = {0};
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        int status = wait_exit(sub);
        long server = n > 0 ? strtol(buf, NULL, 10) : -1;
        struct shimlog l;
        log_read(log, &l);
        int lines = log_count(&l, server, NULL, NULL);
        check(status == 0 && lines == 1, "auditonce: mode %s, a server the gateway's hook saw and "
                                         "that loads the shim itself: one line for it (%d)",
              MODES[m], lines);
        if (lines != 1)
            for (size_t i = 0; i < l.n; i++)
                diag("%.160s", l.lines[i]);
        log_free(&l);
    }
}

/* --- sharedvm ----------------------------------------------------------------------------- */

#define SHARED_ENV 60000
#define ROUNDS 20
static char **shared_env;
static volatile int shared_started;

static int shared_child(void *arg)
{
    (void)arg;
    char *argv[] = {STANDIN, "/dev/null", NULL};
    shared_started = 1;
    execve("./" STANDIN, argv, shared_env);
    _exit(100 + errno);
}

static void t_sharedvm(void)
{
    shared_env = calloc(SHARED_ENV + 2, sizeof *shared_env);
    static char entries[SHARED_ENV][16];
    for (int i = 0; i < SHARED_ENV; i++) {
        snprintf(entries[i], sizeof entries[i], "FILLER_%06d=x", i);
        shared_env[i] = entries[i];
    }
    shared_env[SHARED_ENV] = "PATH=.:/usr/bin:/bin";
    const size_t stack_size = 1 << 20;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        die("mmap");
    char *argv[] = {"mcp-server-x", NULL};
    char *small[] = {"PATH=/usr/bin:/bin", NULL};
    int failed = 0, last = 0;
    for (int r = 0; r < ROUNDS; r++) {
        shared_started = 0;
        fflush(stdout);
        pid_t pid = clone(shared_child, stack + stack_size, CLONE_VM | SIGCHLD, NULL);
        if (pid < 0)
            die("clone");
        while (!shared_started)
            ;
        int status = 0;
        /* The parent thread goes on spawning (a probe that fails with ENOENT) meanwhile. */
        while (waitpid(pid, &status, WNOHANG) == 0)
            execve("/nonexistent/mcp-server-x", argv, small);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed++;
            last = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    munmap(stack, stack_size);
    free(shared_env);
    check(failed == 0, "sharedvm: a clone(CLONE_VM) child execs an MCP server with a %d-entry envp "
                       "while its parent calls exec hooks: it ran %d of %d times (last failure: "
                       "status %d, 100+errno)", SHARED_ENV, ROUNDS - failed, ROUNDS, last);
}

/* --- captured ----------------------------------------------------------------------------- */

static int sub_captured(void)
{
    char pre[1024];
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", getenv("LD_PRELOAD"));
    if (mkdir("out/rt", 0755) != 0 && errno != EEXIST)
        die("mkdir out/rt");
    /* The stand-in under a runtime's name, in a directory of its own (not in PATH). */
    int in = open("./" PLAIN, O_RDONLY), out = open("out/rt/python3", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            die("copy");
    close(in);
    close(out);
    int p0[2], p1[2], p2[2];
    if (pipe(p0) != 0 || pipe(p1) != 0 || pipe(p2) != 0)
        die("pipe");
    char *argv[] = {"python3", "out/attack-captured.env", NULL};
    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/tmp/standin-home", pre, NULL};
    unlink(argv[1]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p0[0], 0);
        dup2(p1[1], 1);
        dup2(p2[1], 2);
        syscall(SYS_execve, "out/rt/python3", argv, env); /* no hook: a static client */
        _exit(127);
    }
    close(p0[0]);
    close(p0[1]);
    close(p1[1]);
    close(p2[1]);
    int status = wait_exit(pid);
    n = read(p2[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    struct dump d;
    int healed = 0;
    if (dump_read(argv[1], &d) == 0) {
        healed = dump_get(&d, "HTTPS_PROXY") != NULL;
        dump_free(&d);
    }
    check(status == 0, "captured: the child ran (status %d; it healed itself: %s)", status,
          healed ? "yes" : "no");
    if (!check(n <= 0, "captured: nothing in the stderr its parent captures (%zd bytes)", n))
        diag("%.200s", buf);
    return check_status();
}

static void t_captured(void)
{
    const char *const set[] = {"MCP_ENV_SHIM_LOG=stderr", NULL};
    int status = wait_exit(start_sub("captured", -1, set));
    check(status == 0 || status == 1, "captured: the sub-test ran (status %d)", status);
}

/* --- bytelog ------------------------------------------------------------------------------ */

static int sub_bytelog(void)
{
    char *argv[] = {STANDIN, "out/attack-bytelog.env", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, bare_envp()) != 0 || wait_exit(pid) != 0)
        return 1;
    return 0;
}

static void t_dotdot(void)
{
    char cwd[512], path[700], var[720];
    if (!getcwd(cwd, sizeof cwd))
        die("getcwd");
    if (mkdir("out/attack-dd", 0755) != 0 && errno != EEXIST)
        die("mkdir");
    snprintf(path, sizeof path, "%s/out/attack-dd/../attack-dotdot.log", cwd);
    close(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    snprintf(var, sizeof var, "MCP_ENV_SHIM_LOG=%s", path);
    const char *const set[] = {var, NULL};
    int status = wait_exit(start_sub("bytelog", -1, set)); /* the same spawn */
    struct shimlog l;
    log_read(path, &l);
    int lines = log_count_event(&l, "inject");
    log_free(&l);
    check(status == 0 && lines == 1, "dotdot: euid %d, MCP_ENV_SHIM_LOG=.../out/attack-dd/../"
                                     "attack-dotdot.log: the line is written there (%d lines)",
          (int)geteuid(), lines);
}

#define SIGMASK_OUT "out/attack-sigmask.status"

static void on_sigsys(int sig)
{
    (void)sig;
    exec_reporter(SIGMASK_OUT);
}

static void t_sigmask(void)
{
    unlink(SIGMASK_OUT);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_sigsys};
        sigaction(SIGSYS, &sa, NULL);
        trap_syscall(SYS_rt_sigpending);
        char *argv[] = {STANDIN, "out/attack-sigmask.env", NULL};
        pid_t c;
        if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0)
            wait_exit(c);
        _exit(0); /* no handler ran: nothing was started from it */
    }
    int status = wait_exit(pid);
    unsigned long long blocked;
    int found = read_status(SIGMASK_OUT, &blocked, NULL);
    check(status == 0 && (blocked & WRITE_SIGNALS) == 0,
          "sigmask: a program exec'd from a signal handler that ran during a log write does not "
          "inherit SIGPIPE/SIGTTOU/SIGXFSZ blocked (%s: SigBlk %016llx)",
          found ? "the handler ran" : "no handler ran", blocked);
}

static void t_compat(void)
{
    static const char *const SCRIPTS[] = {"out/mcp-server-noshebang", "out/plain-noshebang"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(SCRIPTS[i], "w");
        if (!f)
            die("fopen %s", SCRIPTS[i]);
        fputs("exit 0\n", f);
        fclose(f);
        chmod(SCRIPTS[i], 0755);
        for (int p = 0; p < 2; p++) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                char *argv[] = {"compatspawn", p ? "p" : "s", (char *)SCRIPTS[i], NULL};
                execve("./compatspawn", argv, environ);
                _exit(127);
            }
            int status = wait_exit(pid);
            check(status == 0, "compat: %s@GLIBC_2.2.5 of %s, a script without #!: it runs "
                               "through /bin/sh as without the shim (%s %d)",
                  p ? "posix_spawnp" : "posix_spawn", SCRIPTS[i],
                  status == ENOEXEC ? "ENOEXEC" : "status", status);
        }
    }
}

static void t_bytelog(void)
{
    char cwd[512], named[600], lossy[600], var[640];
    if (!getcwd(cwd, sizeof cwd))
        die("getcwd");
    snprintf(named, sizeof named, "%s/out/attack-log-\xff.log", cwd);
    snprintf(lossy, sizeof lossy, "%s/out/attack-log-\xef\xbf\xbd.log", cwd);
    unlink(named);
    unlink(lossy);
    close(open(named, O_WRONLY | O_CREAT | O_TRUNC, 0644)); /* a privileged process creates none */
    snprintf(var, sizeof var, "MCP_ENV_SHIM_LOG=%s", named);
    const char *const set[] = {var, NULL};
    int status = wait_exit(start_sub("bytelog", -1, set));
    struct shimlog l;
    log_read(named, &l);
    int lines = log_count_event(&l, "inject");
    log_free(&l);
    struct stat st;
    check(status == 0 && lines == 1, "bytelog: MCP_ENV_SHIM_LOG=.../attack-log-\\xff.log: the line "
                                     "is in that file (%d lines%s)",
          lines, stat(lossy, &st) == 0 ? "; a file named with U+FFFD exists" : "");
    unlink(named);
    unlink(lossy);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--sub") == 0) {
        if (!strcmp(argv[2], "packet"))
            return sub_packet();
        if (!strcmp(argv[2], "audit"))
            return sub_audit();
        if (!strcmp(argv[2], "captured"))
            return sub_captured();
        if (!strcmp(argv[2], "bytelog"))
            return sub_bytelog();
        if (!strcmp(argv[2], "grave-wait"))
            return sub_grave_wait();
        if (!strcmp(argv[2], "grave-serial"))
            return sub_grave_serial();
        if (!strcmp(argv[2], "grave-storm"))
            return sub_grave_storm();
        die("unknown sub-test %s", argv[2]);
    }
    t_envvalue();
    t_nsprobe();
    t_graveyard();
    t_packet();
    t_twins();
    t_allocfail();
    t_auditonce();
    t_captured();
    t_bytelog();
    t_dotdot();
    t_sigmask();
    t_compat();
    t_sharedvm();
    return check_status();
}
