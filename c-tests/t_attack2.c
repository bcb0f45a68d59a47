/* t_attack2.c — the second round of a hostile host against the shim: each case is something a
 * real program does, that works without the shim and must work the same with it.
 *   sigfork    a signal handler that starts a crash reporter by fork()+execve, vfork()+execve
 *              or _Fork()+execve (Breakpad, crashpad, systemd-coredump helpers) runs while a
 *              hook writes its line: the program it starts must not inherit the SIGPIPE,
 *              SIGTTOU and SIGXFSZ the shim blocked for the write.
 *   sigstale   a handler that ran during a log write leaves it by siglongjmp (a timeout around an
 *              exec, as alarm()+siglongjmp programs do): later, the same thread blocks SIGPIPE
 *              itself, has one pending, and execs a plain program: the program must start with
 *              SIGPIPE blocked and pending, as without the shim (the shim's record of the
 *              abandoned window must not unblock it, nor take the pending one off);
 *   sigfull    64 threads each inside a log write (each in a handler that waits), and a 65th
 *              whose handler execs: the program it starts must not inherit the three signals.
 *   sigeat     a host that blocks SIGPIPE and collects it with sigwait (a signal thread, as
 *              servers do) is sent SIGPIPE by another process (kill -PIPE) while the shim writes
 *              its line to the log file (which cannot raise SIGPIPE): the signal must still be
 *              pending for the host after the spawn, not taken off as if the write raised it.
 *   gravekill  a vfork child killed (SIGKILL: the OOM killer, a watchdog) while its exec hook
 *              records its scratch memory, before the kernel was told to clear the record
 *              (set_tid_address): 128 such deaths must not leave the 129th vfork child of the
 *              process without a slot, passed through untouched (no block). Deterministic:
 *              seccomp traps set_tid_address, and the SIGSYS handler kills the child there.
 *              The same with the kill at the execve itself (after set_tid_address) holds.
 *   cleartid   a spawner that clones a child sharing its memory with CLONE_CHILD_CLEARTID and
 *              waits on the futex word until the child has exec'd (no CLONE_VFORK), 200
 *              times: every wait ends (the shim leaves the program's clear-child-tid alone),
 *              and the process does not grow by the shim's scratch memory on every spawn (the
 *              shim takes such a child for a fork child, whose memory is its own, and never
 *              unmaps what it mapped in the shared memory).
 *   strmax     a config whose value for a key (NO_PROXY: a long list of hosts) is 140000 bytes,
 *              within the kernel's limit on the whole environment (RLIMIT_STACK/4 is 2 MiB
 *              here) but over its limit on one string (MAX_ARG_STRLEN, 32 pages): posix_spawn
 *              of a server must not fail with E2BIG where it ran without the shim (the spawn
 *              is not retried, and the prediction counts only the total).
 *   scriptpath a server that is a #! script at a long path (2000 bytes: deep node_modules):
 *              the kernel copies the script's path a second time for the interpreter, more
 *              than the 1024 bytes the shim's prediction keeps for a #! line: with the
 *              environment grown in steps of 256 bytes, posix_spawn must never fail with E2BIG
 *              where the same exec without the shim runs (raw execve system call).
 *   badactions posix_spawn of a server with a file-actions pointer that cannot be read, or
 *              whose action array cannot be read: glibc reads them only in the child, which
 *              dies of SIGSEGV while the caller gets 0 and a pid; the shim reads them in the
 *              caller first (to judge the child's stdio) and must not crash the caller.
 *   sigkilled  64 vfork children killed (SIGKILL: the OOM killer, a watchdog) while writing
 *              their line, inside the write's window (seccomp traps rt_sigpending, which the
 *              shim calls there, and the SIGSYS handler kills the child): their records stay,
 *              and then a handler of the parent that execs during a write of its own passes
 *              the write's blocked signals on.
 *   allproxy   a server that declares its own ALL_PROXY (a SOCKS proxy of its own) and no
 *              scheme-specific one: curl, Python's requests and Node's proxy-from-env use
 *              ALL_PROXY only when no HTTP(S)_PROXY / http(s)_proxy is set, so giving it those
 *              overrides its choice, as the twins of t_attack did (fix 7's rule).
 * The write's window is entered deterministically with dnotify: the test asks (F_NOTIFY
 * DN_MODIFY, F_SETSIG, F_SETOWN_EX to its own thread) for a signal when a file of the log's
 * directory is written; the kernel queues it inside the shim's write(2), and it is delivered as
 * that call returns, while the shim still has its three signals blocked.
 */
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
#include <semaphore.h>
#include <setjmp.h>
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
#include <sys/ucontext.h>
#include <linux/futex.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* --- sigfork ------------------------------------------------------------------------------ */

#define SIGFORK_OUT "out/attack2-sigfork.status"
static volatile sig_atomic_t sigfork_how, sigfork_ran;

/* The crash reporter: `cat /proc/self/status` into SIGFORK_OUT. */
static void reporter(void)
{
    exec_reporter(SIGFORK_OUT);
}

static void on_write_fork(int sig)
{
    (void)sig;
    if (sigfork_ran)
        return;
    sigfork_ran = 1;
    pid_t pid;
    if (sigfork_how == 3)
        reporter(); /* the case t_attack's sigmask covers: execve in the handler itself */
    switch (sigfork_how) {
    case 0:
        pid = fork();
        break;
    case 1:
        pid = vfork();
        break;
    default:
        pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); /* _Fork() */
        break;
    }
    if (pid == 0)
        reporter();
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void t_sigfork(void)
{
    static const char *const HOW[] = {"fork", "vfork", "_Fork (raw clone)",
                                      "(control: no child, the handler itself)"};
    for (int how = 0; how < 4; how++) {
        unlink(SIGFORK_OUT);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            sigfork_how = how;
            struct sigaction sa = {.sa_handler = on_write_fork};
            sigaction(SIGUSR1, &sa, NULL);
            signal_on_log_write(SIGUSR1);
            char *argv[] = {STANDIN, "out/attack2-sigfork.env", NULL};
            pid_t c;
            if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0)
                wait_exit(c);
            _exit(sigfork_ran ? 0 : 3); /* 3: no signal came during the write */
        }
        int status = wait_exit(pid);
        unsigned long long blocked = 0;
        int found = read_status(SIGFORK_OUT, &blocked, NULL);
        check(status == 0 && found && (blocked & WRITE_SIGNALS) == 0,
              "sigfork: a crash reporter started by %s+execve from a signal handler that ran "
              "during a log write does not inherit SIGPIPE/SIGTTOU/SIGXFSZ blocked (status %d, "
              "%s, SigBlk %016llx)",
              HOW[how], status, found ? "the reporter ran" : "no reporter ran", blocked);
    }
}

/* --- sigstale ----------------------------------------------------------------------------- */

#define SIGSTALE_OUT "out/attack2-sigstale.status"
static sigjmp_buf stale_jump;

static void on_write_jump(int sig)
{
    (void)sig;
    siglongjmp(stale_jump, 1);
}

static void t_sigstale(void)
{
    unlink(SIGSTALE_OUT);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_write_jump};
        sigaction(SIGUSR1, &sa, NULL);
        if (sigsetjmp(stale_jump, 1) == 0) {
            signal_on_log_write(SIGUSR1);
            char *argv[] = {STANDIN, "out/attack2-sigstale.env", NULL};
            execve("./" STANDIN, argv, bare_envp());
            _exit(3); /* neither exec'd nor interrupted by the write's signal */
        }
        /* Back from the handler, with the mask of the sigsetjmp: nothing blocked. */
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigprocmask(SIG_BLOCK, &pipe, NULL);
        raise(SIGPIPE); /* pending: for the program's own sigwait */
        exec_reporter(SIGSTALE_OUT);
    }
    int status = wait_exit(pid);
    unsigned long long blocked, pending;
    int found = read_status(SIGSTALE_OUT, &blocked, &pending);
    unsigned long long bit = 1ULL << (SIGPIPE - 1);
    check(status == 0 && found, "sigstale: the program ran after the handler jumped out of the "
                                "write (status %d%s)", status,
          status == 3 ? ": no signal came during the write" : "");
    check((blocked & bit) != 0,
          "sigstale: the program exec'd with SIGPIPE blocked by the host keeps it blocked "
          "(SigBlk %016llx)", blocked);
    check((pending & bit) != 0,
          "sigstale: the host's pending SIGPIPE is still pending in the program, not taken off "
          "by the shim (pending %016llx)", pending);
}

/* --- sigfull ------------------------------------------------------------------------------ */

#define SIGFULL_OUT "out/attack2-sigfull.status"
#ifndef PARKED
#define PARKED 64
#endif
static sem_t full_parked;
static int full_release[2];
static volatile sig_atomic_t full_exec;

static void on_write_park(int sig)
{
    (void)sig;
    if (full_exec)
        exec_reporter(SIGFULL_OUT);
    sem_post(&full_parked);
    char c;
    while (read(full_release[0], &c, 1) < 0 && errno == EINTR)
        ;
}

static void start_server_in_window(void)
{
    signal_on_log_write(SIGUSR1);
    char *argv[] = {STANDIN, "/dev/null", NULL};
    pid_t c;
    if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0)
        waitpid(c, NULL, 0);
}

static void *full_thread(void *arg)
{
    (void)arg;
    start_server_in_window();
    return NULL;
}

static void t_sigfull(void)
{
    unlink(SIGFULL_OUT);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_write_park};
        sigaction(SIGUSR1, &sa, NULL);
        if (sem_init(&full_parked, 0, 0) != 0 || pipe(full_release) != 0)
            _exit(90);
        for (int i = 0; i < PARKED; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, full_thread, NULL) != 0)
                _exit(91);
            while (sem_wait(&full_parked) != 0)
                ;
        }
        full_exec = 1;
        start_server_in_window(); /* its handler execs cat */
        _exit(3);
    }
    int status = wait_exit(pid);
    unsigned long long blocked = 0;
    int found = read_status(SIGFULL_OUT, &blocked, NULL);
    check(status == 0 && found && (blocked & WRITE_SIGNALS) == 0,
          "sigfull: with %d threads each inside a log write, a program exec'd from a signal "
          "handler that ran during a 65th write does not inherit SIGPIPE/SIGTTOU/SIGXFSZ blocked "
          "(status %d, %s, SigBlk %016llx)",
          PARKED, status, found ? "the program ran" : "no program ran", blocked);
}

/* --- sigeat ------------------------------------------------------------------------------- */

static int eat_ask[2], eat_done[2];

/* Runs inside the write: asks the helper process to send SIGPIPE, waits until it has. */
static void on_write_ask_kill(int sig)
{
    (void)sig;
    char c = 'k';
    if (write(eat_ask[1], &c, 1) == 1)
        while (read(eat_done[0], &c, 1) < 0 && errno == EINTR)
            ;
}

static void t_sigeat(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (pipe(eat_ask) != 0 || pipe(eat_done) != 0)
            _exit(90);
        pid_t host = getpid();
        pid_t helper = fork();
        if (helper == 0) { /* another process: kill -PIPE host, once asked */
            char c;
            close(eat_ask[1]); /* a host that never asks closes its end: read gives 0 */
            if (read(eat_ask[0], &c, 1) == 1) {
                kill(host, SIGPIPE);
                (void)!write(eat_done[1], &c, 1);
            }
            _exit(0);
        }
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigprocmask(SIG_BLOCK, &pipe, NULL); /* collected by sigwait below */
        struct sigaction sa = {.sa_handler = on_write_ask_kill};
        sigaction(SIGUSR1, &sa, NULL);
        signal_on_log_write(SIGUSR1);
        char *argv[] = {STANDIN, "/dev/null", NULL};
        pid_t c;
        if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) != 0)
            _exit(91);
        waitpid(c, NULL, 0);
        close(eat_ask[1]);
        int asked = waitpid(helper, NULL, 0) == helper;
        sigset_t now;
        sigpending(&now);
        _exit(!asked ? 3 : sigismember(&now, SIGPIPE) ? 0 : 4);
    }
    int status = wait_exit(pid);
    check(status == 0, "sigeat: a SIGPIPE another process sent while the shim wrote its line to "
                       "the log file is still pending for the host that blocks it (%s)",
          status == 4 ? "taken off" : status == 3 ? "no signal came during the write" : "status");
}

/* --- gravekill ---------------------------------------------------------------------------- */

static volatile int gravekill_last; /* shared with the vfork child */

/* In a vfork child, at the trapped call: killed, as by the OOM killer. The last child instead
 * reports whether the envp of its trapped execve has the block (7) or not (8). */
static void on_sigsys_kill(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
#ifdef __x86_64__
    if (gravekill_last && si->si_syscall == SYS_execve) {
        char **envp = (char **)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RDX];
        for (; envp && *envp; envp++)
            if (strncmp(*envp, "HTTPS_PROXY=", 12) == 0)
                _exit(7);
        _exit(8);
    }
#else
    (void)si;
    (void)uc;
#endif
    syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
}

/* vfork+execve of the stand-in; its wait status (128+9: killed in the trap). */
static int vfork_server(const char *out)
{
    char *argv[] = {STANDIN, (char *)out, NULL};
    char **env = bare_envp();
    pid_t pid = vfork();
    if (pid == 0) {
        execve("./" STANDIN, argv, env);
        _exit(127);
    }
    return wait_exit(pid);
}

#ifndef KILLS
#define KILLS 128
#endif

/* 0: each child is killed in set_tid_address, 1: at its execve. Exit status: 0 when the
 * child after the kills still got the block, 4 when it was passed through without it, 3 when
 * the first child was not killed (nothing to test), 5 when the last one did not run. */
static int sub_gravekill(int at_exec)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys_kill, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &sa, NULL);
    /* The last child's execve traps in both cases, for its envp to be read. */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, at_exec ? SYS_execve : SYS_set_tid_address, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return 90;
    int killed = 0;
    for (int i = 0; i < KILLS; i++)
        killed += vfork_server("/dev/null") == 128 + SIGKILL;
    if (killed != KILLS)
        return killed == 0 ? 3 : 6;
    /* The next child: with a slot it is killed in set_tid_address again (as it should be), or
     * reaches its execve with the block; without one the shim passes its exec through
     * untouched, without the block. */
    gravekill_last = 1;
    int status = vfork_server("/dev/null");
    return status == 128 + SIGKILL || status == 7 ? 0 : status == 8 ? 4 : 5;
}

static void t_gravekill(void)
{
    for (int at_exec = 0; at_exec < 2; at_exec++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(sub_gravekill(at_exec));
        int status = wait_exit(pid);
        if (status == 3) {
            check(1, "gravekill: (skipped) no vfork child reached %s",
                  at_exec ? "execve" : "set_tid_address");
            continue;
        }
        check(status == 0,
              "gravekill: %d vfork children killed %s: the next vfork child still gets the "
              "block (%s)",
              KILLS, at_exec ? "at their execve" : "while recording their scratch memory",
              status == 4   ? "passed through untouched: the slots of the dead children stay taken"
              : status == 5 ? "the stand-in did not run"
              : status == 6 ? "not every child was killed at execve"
                            : "status");
        if (status != 0)
            diag("status %d", status);
    }
}

/* --- cleartid ---------------------------------------------------------------------------- */

#define CLEARTID_SPAWNS 200
static char **cleartid_env;

static int cleartid_child(void *arg)
{
    (void)arg;
    char *argv[] = {STANDIN, "/dev/null", NULL};
    execve("./" STANDIN, argv, cleartid_env);
    _exit(127);
}

static long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        sscanf(line, "VmSize: %ld", &kb);
    if (f)
        fclose(f);
    return kb;
}

static int sub_cleartid(void)
{
    cleartid_env = bare_envp();
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        return 90;
    static volatile pid_t word;
    long before = vm_size_kb();
    int hung = 0, failed = 0;
    for (int i = 0; i < CLEARTID_SPAWNS; i++) {
        pid_t pid = clone(cleartid_child, stack + size,
                          CLONE_VM | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, NULL,
                          NULL, NULL, (pid_t *)&word);
        if (pid < 0)
            return 91;
        /* Until the child has exec'd or exited: the kernel zeroes the word and wakes us. */
        for (int tries = 0; word != 0 && tries < 100; tries++) {
            struct timespec t = {0, 100 * 1000 * 1000};
            pid_t v = word;
            if (v != 0)
                syscall(SYS_futex, &word, FUTEX_WAIT, v, &t, NULL, 0);
        }
        hung += word != 0;
        failed += wait_exit(pid) != 0;
        word = 0;
    }
    long grew = vm_size_kb() - before;
    check(!hung && !failed, "cleartid: %d children sharing memory, made with "
                            "CLONE_CHILD_CLEARTID: each exec wakes the parent's futex on the word "
                            "and runs (%d waits did not end, %d children failed)",
          CLEARTID_SPAWNS, hung, failed);
    check(grew < CLEARTID_SPAWNS * 4 / 2,
          "cleartid: the spawner does not grow with its spawns (%ld kB after %d, %ld bytes each)",
          grew, CLEARTID_SPAWNS, grew * 1024 / CLEARTID_SPAWNS);
    return check_status();
}

static void t_cleartid(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(sub_cleartid());
    int status = wait_exit(pid);
    if (status != 0 && status != 1)
        check(0, "cleartid: the spawner ran (status %d)", status);
}

/* --- strmax ------------------------------------------------------------------------------- */

#define STRMAX_CONFIG "out/attack2-strmax.json"

/* Starts `./t_attack2 --sub name` with the environment of this process with `set` added. */
static int run_sub_with(const char *name, const char *const set[])
{
    char **env = env_with(set, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"./t_attack2", "--sub", (char *)name, NULL};
        execve("./t_attack2", argv, env);
        _exit(127);
    }
    free(env);
    return wait_exit(pid);
}

static int sub_strmax(void)
{
    struct rlimit r = {8 << 20, RLIM_INFINITY};
    setrlimit(RLIMIT_STACK, &r); /* the kernel's total limit: 2 MiB */
    char *argv[] = {STANDIN, "/dev/null", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, bare_envp());
    int status = rc == 0 ? wait_exit(pid) : -1;
    check(rc == 0 && status == 0,
          "strmax: a config value of 140000 bytes (one string over MAX_ARG_STRLEN, the total "
          "far under the limit): posix_spawn of a server still runs it (rc %d%s, status %d)",
          rc, rc == E2BIG ? " E2BIG" : "", status);
    return check_status();
}

static void t_strmax(void)
{
    FILE *f = fopen(STRMAX_CONFIG, "w");
    if (!f)
        die("fopen %s", STRMAX_CONFIG);
    fputs("{\"values\":{\"NO_PROXY\":\"", f);
    for (int i = 0; i < 14000; i++)
        fputs(".example.x", f);
    fputs("\"}}\n", f);
    fclose(f);
    const char *const set[] = {"MCP_ENV_SHIM_CONFIG=" STRMAX_CONFIG, NULL};
    int status = run_sub_with("strmax", set);
    if (status != 0 && status != 1)
        check(0, "strmax: the sub-test ran (status %d)", status);
}

/* --- scriptpath --------------------------------------------------------------------------- */

#define SCRIPT_CONFIG "out/attack2-script.json"
#define SCRIPT_OUT "out/attack2-script.env"
#define PAD_CHUNK 60000
static char script_pads[140000];
static char *script_env[64];

static char **script_padded(size_t pad)
{
    char **base = bare_envp();
    size_t n = 0, used = 0;
    while (base[n] && n < 32) {
        script_env[n] = base[n];
        n++;
    }
    for (int i = 0; pad > 0; i++) {
        size_t v = pad > PAD_CHUNK ? PAD_CHUNK : pad;
        char *e = script_pads + used;
        int k = sprintf(e, "PAD%d=", i);
        memset(e + k, 'x', v);
        e[k + v] = '\0';
        used += (size_t)k + v + 1;
        script_env[n++] = e;
        pad -= v;
    }
    script_env[n] = NULL;
    return script_env;
}

/* Whether `path` runs with `envp` by the raw execve system call: no shim. */
static int runs_raw(const char *path, char *const argv[], char *const envp[])
{
    pid_t pid = fork();
    if (pid == 0) {
        syscall(SYS_execve, path, argv, envp);
        _exit(errno == E2BIG ? 7 : 127);
    }
    return wait_exit(pid) == 0;
}

static int sub_scriptpath(void)
{
    struct rlimit r = {512 << 10, RLIM_INFINITY};
    if (setrlimit(RLIMIT_STACK, &r) != 0) /* the kernel's limit: 128 KiB */
        die("setrlimit");
    char path[4096] = "out/attack2-sp";
    mkdir(path, 0755);
    for (int i = 0; i < 8; i++) {
        size_t n = strlen(path);
        path[n] = '/';
        memset(path + n + 1, 'd', 240);
        path[n + 241] = 0;
        mkdir(path, 0755);
    }
    strcat(path, "/mcp-server-script");
    FILE *f = fopen(path, "w");
    if (!f)
        die("fopen script");
    fputs("#!/bin/sh\nexec ./" PLAIN " \"$1\"\n", f);
    fclose(f);
    chmod(path, 0755);
    char *argv[] = {"mcp-server-script", SCRIPT_OUT, NULL};
    size_t pad, last_injected = 0;
    int broke = 0, raw_ok = 0;
    for (pad = 0; pad < 130000; pad += 256) {
        char **env = script_padded(pad);
        unlink(SCRIPT_OUT);
        pid_t pid;
        int rc = posix_spawn(&pid, path, NULL, NULL, argv, env);
        if (rc != 0) {
            raw_ok = runs_raw(path, argv, env);
            broke = raw_ok;
            break;
        }
        struct dump d;
        int injected = wait_exit(pid) == 0 && dump_read(SCRIPT_OUT, &d) == 0 &&
                       dump_get(&d, "HTTPS_PROXY") != NULL;
        if (injected)
            dump_free(&d);
        else
            break; /* the shim now leaves the child alone: past its prediction */
        last_injected = pad;
    }
    check(!broke, "scriptpath: a #! server at a path of %zu bytes, its environment grown in "
                  "steps of 256 bytes: posix_spawn never fails where the raw exec runs (padding "
                  "%zu: %s; last padding given the block %zu)",
          strlen(path), pad, broke ? "E2BIG with the shim, runs without" : raw_ok ? "" : "ok",
          last_injected);
    return check_status();
}

static void t_scriptpath(void)
{
    FILE *f = fopen(SCRIPT_CONFIG, "w");
    if (!f)
        die("fopen %s", SCRIPT_CONFIG);
    /* A long NO_PROXY (a company's list of hosts): the block is large, the gap wide. */
    fputs("{\"values\":{\"NO_PROXY\":\"", f);
    for (int i = 0; i < 2000; i++)
        fputs(".example.x", f);
    fputs("\"}}\n", f);
    fclose(f);
    const char *const set[] = {"MCP_ENV_SHIM_CONFIG=" SCRIPT_CONFIG, NULL};
    int status = run_sub_with("scriptpath", set);
    if (status != 0 && status != 1)
        check(0, "scriptpath: the sub-test ran (status %d)", status);
}

/* --- badactions --------------------------------------------------------------------------- */

/* glibc's layout of posix_spawn_file_actions_t. */
struct fa_layout {
    int allocated, used;
    void *actions;
    int pad[16];
};

static void t_badactions(void)
{
    static const char *const WHAT[] = {"the file-actions pointer", "the action array",
                                       "the file-actions pointer (a runtime, judged by its stdio)",
                                       "the action array (a runtime, judged by its stdio)"};
    for (int which = 0; which < 4; which++) {
        fflush(stdout);
        pid_t host = fork();
        if (host == 0) {
            char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            static struct fa_layout fa;
            fa.allocated = fa.used = 1;
            fa.actions = none;
            posix_spawn_file_actions_t *p = which % 2 == 0 ? (posix_spawn_file_actions_t *)none
                                                           : (posix_spawn_file_actions_t *)&fa;
            char *argv[] = {STANDIN, "/dev/null", NULL};
            /* A runtime from an MCP client's fresh environment: only its stdio decides, and
             * that is read from the file actions. */
            char *runtime[] = {"python3", "srv.py", NULL};
            pid_t c;
            int rc = which < 2 ? posix_spawn(&c, "./" STANDIN, p, NULL, argv, bare_envp())
                               : posix_spawn(&c, "/usr/bin/python3", p, NULL, runtime, child_envp());
            if (rc == 0)
                waitpid(c, NULL, 0);
            _exit(0); /* the caller survived, whatever became of the child */
        }
        int status = wait_exit(host);
        check(status == 0, "badactions: posix_spawn of a server with %s unreadable does not crash "
                           "the caller (status %d%s)",
              WHAT[which], status, status == 128 + SIGSEGV ? ": SIGSEGV" : "");
    }
}

/* --- sigkilled ---------------------------------------------------------------------------- */

#define SIGKILLED_OUT "out/attack2-sigkilled.status"
static pid_t sigkilled_parent;

static void on_sigsys_in_window(int sig)
{
    (void)sig;
    if (syscall(SYS_getpid) != sigkilled_parent)
        syscall(SYS_kill, syscall(SYS_getpid), SIGKILL); /* a vfork child: killed here */
    /* the parent: rt_sigpending is skipped, the shim goes on */
}

static void on_write_exec(int sig)
{
    (void)sig;
    exec_reporter(SIGKILLED_OUT);
}

static void t_sigkilled(void)
{
    unlink(SIGKILLED_OUT);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sigkilled_parent = getpid();
        struct sigaction sa = {.sa_handler = on_sigsys_in_window};
        sigaction(SIGSYS, &sa, NULL);
        struct sigaction su = {.sa_handler = on_write_exec};
        sigaction(SIGUSR1, &su, NULL);
        trap_syscall(SYS_rt_sigpending);
        int killed = 0;
        for (int i = 0; i < 64; i++)
            killed += vfork_server("/dev/null") == 128 + SIGKILL;
        if (killed == 0)
            _exit(3); /* the shim calls no rt_sigpending in its window: nothing to kill there */
        signal_on_log_write(SIGUSR1);
        char *argv[] = {STANDIN, "/dev/null", NULL};
        pid_t c;
        if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0)
            waitpid(c, NULL, 0);
        _exit(4); /* no signal came during the write */
    }
    int status = wait_exit(pid);
    if (status == 3) {
        check(1, "sigkilled: (skipped) no rt_sigpending in the write's window");
        return;
    }
    unsigned long long blocked = 0;
    int found = read_status(SIGKILLED_OUT, &blocked, NULL);
    check(status == 0 && found && (blocked & WRITE_SIGNALS) == 0,
          "sigkilled: after 64 vfork children were killed inside their log writes, a program "
          "exec'd from a handler that ran during the parent's own write does not inherit "
          "SIGPIPE/SIGTTOU/SIGXFSZ blocked (status %d, %s, SigBlk %016llx)",
          status, found ? "the program ran" : "no program ran", blocked);
}

/* --- allproxy ----------------------------------------------------------------------------- */

static void t_allproxy(void)
{
    char *env[] = {"HOME=/tmp/standin-home", "PATH=.:/usr/bin:/bin", "TERM=dumb",
                   "ALL_PROXY=socks5h://child-own:1080", NULL};
    char *argv[] = {STANDIN, "out/attack2-allproxy.env", NULL};
    unlink(argv[1]);
    pid_t pid;
    struct dump d;
    if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, env) != 0 || wait_exit(pid) != 0 ||
        dump_read(argv[1], &d) != 0)
        die("allproxy: the stand-in did not run");
    static const char *const WEB[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"};
    char given[256] = "";
    for (int i = 0; i < 4; i++)
        if (dump_get(&d, WEB[i])) {
            strcat(given, " ");
            strcat(given, WEB[i]);
        }
    check(!*given, "allproxy: a server with its own ALL_PROXY is not given a scheme-specific proxy "
                   "that curl, requests and Node would use instead (given:%s)",
          *given ? given : " none");
    dump_free(&d);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--sub") == 0) {
        if (!strcmp(argv[2], "strmax"))
            return sub_strmax();
        if (!strcmp(argv[2], "scriptpath"))
            return sub_scriptpath();
        die("unknown sub-test %s", argv[2]);
    }
    t_sigfork();
    t_sigstale();
    t_sigfull();
    t_sigeat();
    t_gravekill();
    t_cleartid();
    t_strmax();
    t_scriptpath();
    t_badactions();
    t_sigkilled();
    t_allproxy();
    return check_status();
}
