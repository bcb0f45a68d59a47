/* t_attack3.c — the third round of a hostile host against the shim: each case is something a
 * real program does, that works without the shim and must work the same with it.
 *   signest    a signal handler that runs during a log write (the window with SIGPIPE, SIGXFSZ
 *              and SIGTTOU blocked) first posix_spawns an MCP server (whose hook writes a line
 *              of its own) and then execs a crash reporter: the reporter must not inherit the
 *              three signals blocked (the nested write's record replaced the outer one's, and
 *              its end dropped it).
 *   sigaltstale  a record of a window that is over passes the liveness test (same thread
 *              pointer, the three signals blocked, deeper on the stack or on the alternate
 *              stack), and the shim unblocks them for an exec the host made with them blocked
 *              (and takes a pending SIGXFSZ off):
 *                jump   a handler left the write by siglongjmp (a timeout around an exec);
 *                       later a crash handler on the alternate stack, with every signal in its
 *                       sa_mask (as crash handlers have), execs a crash reporter;
 *                vfork  a vfork child was killed inside its write (the OOM killer; seccomp
 *                       traps rt_sigpending and the SIGSYS handler kills the child there); later
 *                       the parent blocks every signal and, deeper on its stack, execs a helper.
 *              The program started must have every signal blocked and SIGXFSZ still pending.
 *   earlycompat  a program built against glibc's pre-2.15 posix_spawn (GLIBC_2.2.5: an
 *              executable without #! runs through /bin/sh) whose library constructor spawns
 *              such a script before the shim's constructor has run: that spawn, and main's
 *              later one, must run the script as without the shim (not fail with ENOEXEC).
 *   datalimit  a program started with a large environment (2500 variables: a CI job, a build)
 *              under an RLIMIT_DATA it runs within: the shim's constructor copies the
 *              environment array into a 64 KiB mapping its arena cannot hold, the mapping is
 *              refused, and the allocation failure aborts the process at load. For every limit
 *              from 100 to 400 KiB at which /bin/true runs without the shim, it must not be
 *              killed by a signal with it (the loader refusing to map the library, exit 127,
 *              is not the shim's code).
 *   heallimit  the same for a server that heals itself at start (argv[0] mcp-server-x, 400
 *              variables, a usual config, a parent with a 20 KB environment it reads, and once
 *              with a 30 KB MCP_ENV_SHIM_LOG of its own): reading the parent's environment and
 *              the config moved the allocator to regions of their own, whose rest the
 *              allocations after them outgrew, and the mapping they then asked for was refused
 *              (SIGABRT at load). For every limit from 200 to 520 KiB at which it runs without
 *              the shim, it must not be killed by a signal with it; with no limit, it heals.
 * The write's window is entered deterministically with dnotify, as in t_attack2. */
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
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* --- signest ------------------------------------------------------------------------------ */

#define SIGNEST_OUT "out/attack3-signest.status"
static volatile sig_atomic_t signest_ran, signest_spawned;

static void on_write_spawn_then_exec(int sig)
{
    (void)sig;
    if (signest_ran)
        return;
    signest_ran = 1;
    char *argv[] = {STANDIN, "/dev/null", NULL};
    pid_t c;
    if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0) {
        signest_spawned = 1;
        waitpid(c, NULL, 0);
    }
    exec_reporter(SIGNEST_OUT);
}

static void t_signest(void)
{
    unlink(SIGNEST_OUT);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_write_spawn_then_exec};
        sigaction(SIGUSR1, &sa, NULL);
        signal_on_log_write(SIGUSR1);
        char *argv[] = {STANDIN, "/dev/null", NULL};
        pid_t c;
        if (posix_spawn(&c, "./" STANDIN, NULL, NULL, argv, bare_envp()) == 0)
            waitpid(c, NULL, 0);
        _exit(3); /* no signal came during the write */
    }
    int status = wait_exit(pid);
    unsigned long long blocked = 0, pending = 0;
    int found = read_status(SIGNEST_OUT, &blocked, &pending);
    check(status == 0 && found && (blocked & WRITE_SIGNALS) == 0,
          "signest: a crash reporter exec'd by a handler that ran during a log write, after "
          "the handler posix_spawned an MCP server, does not inherit SIGPIPE/SIGTTOU/SIGXFSZ "
          "blocked (status %d, %s, SigBlk %016llx)",
          status, found ? "the reporter ran" : "no reporter ran", blocked);
}

/* --- sigaltstale -------------------------------------------------------------------------- */

#define ALTSTALE_OUT "out/attack3-sigaltstale.status"
static sigjmp_buf altstale_jump;
static char altstack[64 * 1024];

static void on_write_jump(int sig)
{
    (void)sig;
    siglongjmp(altstale_jump, 1);
}

static void on_crash_report(int sig)
{
    (void)sig;
    exec_reporter(ALTSTALE_OUT);
}

/* Leaves a record of an abandoned window: a handler jumps out of the exec hook's log write. */
static int abandon_window_by_jump(void)
{
    struct sigaction sa = {.sa_handler = on_write_jump};
    sigaction(SIGUSR1, &sa, NULL);
    if (sigsetjmp(altstale_jump, 1) == 0) {
        signal_on_log_write(SIGUSR1);
        char *argv[] = {STANDIN, "/dev/null", NULL};
        execve("./" STANDIN, argv, bare_envp());
        return 0; /* neither exec'd nor interrupted by the write's signal */
    }
    return 1;
}

static pid_t vkill_parent;

static void on_sigsys_in_window(int sig)
{
    (void)sig;
    if (syscall(SYS_getpid) != vkill_parent)
        syscall(SYS_kill, syscall(SYS_getpid), SIGKILL); /* a vfork child: killed here */
}

/* Leaves a record of a window whose task is gone: a vfork child killed inside its write. */
static int abandon_window_by_kill(void)
{
    vkill_parent = getpid();
    struct sigaction sa = {.sa_handler = on_sigsys_in_window};
    sigaction(SIGSYS, &sa, NULL);
    trap_syscall(SYS_rt_sigpending);
    char *argv[] = {STANDIN, "/dev/null", NULL};
    char **env = bare_envp();
    pid_t pid = vfork();
    if (pid == 0) {
        execve("./" STANDIN, argv, env);
        _exit(127);
    }
    return wait_exit(pid) == 128 + SIGKILL;
}

/* Runs `f` some 64 KiB deeper on the stack than the caller. */
static void __attribute__((noinline)) deeper(int depth, void (*f)(void))
{
    volatile char pad[4096];
    pad[0] = (char)depth;
    if (depth > 0)
        deeper(depth - 1, f);
    else
        f();
    __asm__ volatile("" ::"r"(pad) : "memory");
}

static void block_all_and_exec(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    raise(SIGXFSZ); /* pending, blocked: the helper's to collect */
    exec_reporter(ALTSTALE_OUT);
}

static void t_sigaltstale(void)
{
    static const char *const HOW[] = {"jump", "vfork"};
    for (int how = 0; how < 2; how++) {
        unlink(ALTSTALE_OUT);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (how == 0) {
                if (!abandon_window_by_jump())
                    _exit(3);
                stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
                struct sigaction sa = {.sa_handler = on_crash_report, .sa_flags = SA_ONSTACK};
                sigfillset(&sa.sa_mask);
                if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0)
                    _exit(91);
                /* A pending SIGXFSZ the host blocks; then the crash. */
                sigset_t x;
                sigemptyset(&x);
                sigaddset(&x, SIGXFSZ);
                sigprocmask(SIG_BLOCK, &x, NULL);
                raise(SIGXFSZ);
                raise(SIGSEGV);
                _exit(4);
            }
            if (!abandon_window_by_kill())
                _exit(3);
            deeper(16, block_all_and_exec);
            _exit(4);
        }
        int status = wait_exit(pid);
        if (status == 3) {
            check(1, "sigaltstale %s: (skipped) no window was abandoned", HOW[how]);
            continue;
        }
        unsigned long long blocked = 0, pending = 0;
        int found = read_status(ALTSTALE_OUT, &blocked, &pending);
        unsigned long long xfsz = 1ULL << (SIGXFSZ - 1);
        check(status == 0 && found && (blocked & WRITE_SIGNALS) == WRITE_SIGNALS,
              "sigaltstale %s: a program exec'd with every signal blocked, after a log write's "
              "window was abandoned (%s), keeps SIGPIPE/SIGTTOU/SIGXFSZ blocked (status %d, %s, "
              "SigBlk %016llx)",
              HOW[how], how ? "its vfork child killed in it" : "a handler's siglongjmp",
              status, found ? "the program ran" : "no program ran", blocked);
        check(found && (pending & xfsz) != 0,
              "sigaltstale %s: the host's pending SIGXFSZ is still pending in the program, not "
              "taken off by the shim (pending %016llx)", HOW[how], pending);
    }
}

/* --- earlycompat -------------------------------------------------------------------------- */

static void t_earlycompat(void)
{
#if defined(__x86_64__)
    const char *script = "out/attack3-noshebang.sh";
    FILE *f = fopen(script, "w");
    if (!f)
        die("earlycompat: %s", script);
    fputs("exit 0\n", f);
    fclose(f);
    chmod(script, 0755);
    const char *const set[] = {"EARLYCOMPAT_SCRIPT=out/attack3-noshebang.sh", NULL};
    char **env = env_with(set, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"earlycompat", (char *)script, NULL};
        execve("./earlycompat", argv, env);
        _exit(127);
    }
    int status = wait_exit(pid);
    free(env);
    check(status == 0,
          "earlycompat: glibc's pre-2.15 posix_spawn of a script without #!, called from a "
          "library constructor before the shim's and again from main, runs it through /bin/sh "
          "both times (status %d%s%s)", status,
          status == 8 ? ": the constructor did not spawn" : (status & 1) ? ": the constructor's spawn failed" : "",
          status != 8 && (status & 2) ? ": main's spawn failed" : "");
#else
    check(1, "earlycompat: (skipped) no pre-2.15 posix_spawn on this architecture");
#endif
}

/* --- datalimit --------------------------------------------------------------------------- */

/* /bin/true with `env` under RLIMIT_DATA `kb` KiB: its wait status as wait_exit gives it. */
static int true_with_limit(char **env, long kb)
{
    char *argv[] = {"true", NULL};
    return run_with_data_limit("/bin/true", argv, env, kb);
}

static void t_datalimit(void)
{
    enum { VARS = 2500 };
    const char *shim = getenv("LD_PRELOAD");
    if (!shim)
        die("datalimit: no LD_PRELOAD");
    char **with = calloc(VARS + 3, sizeof *with), **without = calloc(VARS + 3, sizeof *without);
    static char vars[VARS][24];
    char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
    with[0] = preload;
    for (int i = 0; i < VARS; i++) {
        snprintf(vars[i], sizeof vars[i], "BUILD_VAR_%d=x", i);
        with[i + 1] = without[i] = vars[i];
    }
    fflush(stdout);
    long bad_kb = 0;
    int bad_status = 0, ran = 0;
    for (long kb = 100; kb <= 400 && !bad_kb; kb += 4) {
        if (true_with_limit(without, kb) != 0)
            continue;
        ran++;
        int st = true_with_limit(with, kb);
        if (st > 128)
            bad_kb = kb, bad_status = st;
    }
    check(ran > 0 && !bad_kb,
          "datalimit: a program with %d environment variables that runs under an RLIMIT_DATA "
          "is not killed at load by the preloaded shim (%s; %ld KiB: status %d)",
          VARS, ran ? "it runs without the shim" : "it never ran without the shim", bad_kb,
          bad_status);
    free(with);
    free(without);
}

/* --- heallimit --------------------------------------------------------------------------- */

#define HEAL_CONFIG "out/attack3-heallimit.json"
#define HEAL_OUT "out/attack3-heallimit.%d"
#define HEAL_DUMP "out/attack3-heallimit.env"

/* The parent a healing server reads: run as `t_attack3 --sub heal VARIANT` with a 20 KB
 * environment and no preload (so that no hook injects first). Starts the stand-in as
 * mcp-server-x under each limit, without and with the shim ($SHIM_UNDER_TEST), and writes to
 * HEAL_OUT the first limit that killed it with the shim ("KIB STATUS", or "0 0"), how many
 * limits ran, and whether it healed with no limit (its dump has the config's value). */
static int heal_parent(int variant)
{
    enum { VARS = 400 };
    static char vars[VARS][16], preload[4200], longlog[30100];
    char *with[VARS + 5], *without[VARS + 5];
    const char *shim = getenv("SHIM_UNDER_TEST");
    if (!shim)
        return 2;
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
    int n = 0;
    for (int i = 0; i < VARS; i++, n++) {
        snprintf(vars[i], sizeof vars[i], "V%05d=x", i);
        with[n] = without[n] = vars[i];
    }
    with[n] = without[n] = "MCP_ENV_SHIM_CONFIG=" HEAL_CONFIG;
    n++;
    if (variant == 1) {
        memcpy(longlog, "MCP_ENV_SHIM_LOG=/tmp/", 22);
        memset(longlog + 22, 'x', 30000);
        with[n] = without[n] = longlog;
        n++;
    }
    without[n] = NULL;
    with[n] = preload;
    with[n + 1] = NULL;
    long bad_kb = 0;
    int bad_status = 0, ran = 0;
    /* The last round has no limit: the server must heal there (the case is the healing path). */
    for (long kb = 200; kb <= 524 && !bad_kb; kb += 4) {
        for (int shimmed = 0; shimmed < 2; shimmed++) {
            char *argv[] = {"mcp-server-x", HEAL_DUMP, NULL};
            int st = run_with_data_limit("./" STANDIN, argv, shimmed ? with : without,
                                         kb <= 520 ? kb : 0);
            if (!shimmed && st != 0)
                break;
            if (shimmed) {
                ran++;
                if (st > 128)
                    bad_kb = kb, bad_status = st;
            }
        }
    }
    int healed = 0;
    FILE *d = fopen(HEAL_DUMP, "r");
    if (d) {
        static char dump[1 << 16];
        size_t len = fread(dump, 1, sizeof dump - 1, d);
        fclose(d);
        for (size_t i = 0; i < len; i += strlen(dump + i) + 1)
            healed |= strcmp(dump + i, "HTTPS_PROXY=http://127.0.0.1:3128") == 0;
    }
    char path[64];
    snprintf(path, sizeof path, HEAL_OUT, variant);
    FILE *f = fopen(path, "w");
    if (!f)
        return 3;
    fprintf(f, "%ld %d %d %d\n", bad_kb, bad_status, ran, healed);
    return fclose(f) == 0 ? 0 : 3;
}

static void t_heallimit(void)
{
    const char *shim = getenv("LD_PRELOAD");
    if (!shim)
        die("heallimit: no LD_PRELOAD");
    FILE *c = fopen(HEAL_CONFIG, "w");
    if (!c)
        die("heallimit: cannot write " HEAL_CONFIG);
    fputs("{\"mode\": \"mcp\", \"values\": {\"HTTPS_PROXY\": \"http://127.0.0.1:3128\"}, "
          "\"include\": [\"weather-server\"], \"exclude\": [\"*-test\"]}",
          c);
    fclose(c);
    static char pad[20010], under[4200];
    memcpy(pad, "PAD=", 4);
    memset(pad + 4, 'x', 20000);
    snprintf(under, sizeof under, "SHIM_UNDER_TEST=%s", shim);
    const char *what[] = {"a usual config", "a usual config and a 30 KB MCP_ENV_SHIM_LOG"};
    for (int variant = 0; variant < 2; variant++) {
        char path[64], arg[8];
        snprintf(path, sizeof path, HEAL_OUT, variant);
        snprintf(arg, sizeof arg, "%d", variant);
        unlink(path);
        const char *args[] = {"heal", arg, NULL};
        char *env[] = {pad, under, "PATH=/usr/bin:/bin", NULL};
        int st = run_sub("./t_attack3", args, env);
        long bad_kb = -1;
        int bad_status = 0, ran = 0, healed = 0;
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%ld %d %d %d", &bad_kb, &bad_status, &ran, &healed) != 4)
                bad_kb = -1;
            fclose(f);
        }
        char killed[64] = "none";
        if (bad_kb)
            snprintf(killed, sizeof killed, "%ld KiB, status %d", bad_kb, bad_status);
        check(st == 0 && ran > 0 && bad_kb == 0,
              "heallimit: a server healing itself at start (%s, a parent with a 20 KB "
              "environment) under an RLIMIT_DATA it runs within is not killed at load by the "
              "shim (%d limits ran; killed at: %s; parent status %d)",
              what[variant], ran, killed, st);
        check(healed, "heallimit: with %s and no limit, the server healed itself", what[variant]);
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--sub") == 0 && strcmp(argv[2], "heal") == 0)
        return heal_parent(atoi(argv[3]));
    t_signest();
    t_sigaltstale();
    t_earlycompat();
    t_datalimit();
    t_heallimit();
    return check_status();
}
