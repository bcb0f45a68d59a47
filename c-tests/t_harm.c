/* t_harm.c — the shim's side channels never harm the process it lives in (issue 7). Each case
 * runs in a sub-process, this binary started again with its descriptors and environment set up
 * first (the shim notes what stderr is when it loads), that starts MCP children:
 *   sigpipe  stderr a pipe whose reader is gone: no SIGPIPE in the host, a fork or a vfork
 *            child, nor at load with a bad MCP_ENV_SHIM (the warning);
 *   sigxfsz  the log file past RLIMIT_FSIZE: no SIGXFSZ, and the file is not written;
 *   full     stderr a full pipe nobody reads: 220 spawns finish (a write never blocks), and
 *            the next line written says how many were dropped;
 *   capture  a child whose stderr its parent captures (Python's capture_output, Node's exec):
 *            the line never lands in that pipe; it goes to the gateway's own stderr, a file or
 *            a pipe, from fork and vfork children, in modes mcp and audit;
 *   socket   fd 2 closed and taken by a socket: nothing is written into it;
 *   stdout   a log "file" that is stdout (/dev/stdout, /proc/self/fd/1, a symlink to it):
 *            nothing in the stdout pipe (an MCP server's JSON-RPC stream);
 *   journal  stdout and stderr one socket: nothing, unless JOURNAL_STREAM names it;
 *   altstack an exec from a signal handler on an 8 KiB alternate stack, 300-entry envp;
 *   vforkstack  the stack a vfork child's exec hook uses, measured in the shared memory;
 *   badptr   bad path, argv, envp, argv[0], envp[0] pointers: -1/EFAULT, as without the shim;
 *   loadtime the host's block is the one it had when the shim loaded (read the first time a child
 *            needs it): a host that clears or rewrites its environment afterwards (`env -i`,
 *            libuv's child) still gives its children the load-time values. */
#include "check.h"
#include "envp.h"
#include "logscan.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Starts the stand-in with the SDK's bare environment: 0 posix_spawn, 1 fork, 2 vfork. Returns
 * its pid after it exited 0 having dumped its environment into `out`, else -1. */
static pid_t standin(int how, const char *out)
{
    unlink(out);
    char *argv[] = {STANDIN, (char *)out, ARGV_SECRET, NULL};
    pid_t pid = -1;
    if (how == 0) {
        if (posix_spawn(&pid, "./" STANDIN, NULL, NULL, argv, bare_envp()) != 0)
            return -1;
    } else {
        pid = spawn_via(EP_EXECVE, how == 1 ? VIA_FORK : VIA_VFORK, STANDIN, argv, bare_envp());
    }
    struct dump d;
    int ok = pid > 0 && wait_exit(pid) == 0 && dump_read(out, &d) == 0;
    if (ok)
        dump_free(&d);
    return ok ? pid : -1;
}

/* Waits for pid at most `seconds`, on a pidfd (no sleeping): its exit status as wait_exit
 * gives it, or -2 if it did not end (it is then killed). */
static int wait_for(pid_t pid, int seconds)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int r = poll(&p, 1, seconds * 1000);
        close(pfd);
        if (r == 0) {
            kill(pid, SIGKILL);
            wait_exit(pid);
            return -2;
        }
    }
    return wait_exit(pid);
}

/* Reads what is waiting in fd (non-blocking) into buf; its length. */
static size_t drain(int fd, char *buf, size_t n)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    return got;
}

/* --- the sub-processes ------------------------------------------------------------------- */

/* Starts the stand-in from the host, a fork child and a vfork child. */
static int sub_three(const char *tag)
{
    static const char *const HOW[] = {"posix_spawn", "fork+execve", "vfork+execve"};
    for (int how = 0; how < 3; how++) {
        char out[96];
        snprintf(out, sizeof out, "out/harm-%s-%d.env", tag, how);
        check(standin(how, out) > 0, "%s: %s: the MCP child ran", tag, HOW[how]);
    }
    return check_status();
}

/* 220 spawns into a full stderr, then, once the parent drained it (fd 3 says so), one more. */
static int sub_full(void)
{
    for (int i = 0; i < 200; i++)
        if (standin(0, "out/harm-full.env") < 0)
            return check(0, "full: posix_spawn %d ran", i), 1;
    for (int i = 0; i < 20; i++)
        if (standin(1, "out/harm-full.env") < 0)
            return check(0, "full: fork+execve %d ran", i), 1;
    char c = 'x';
    if (write(4, &c, 1) != 1 || read(3, &c, 1) != 1)
        die("full: the parent did not answer");
    check(standin(0, "out/harm-full.env") > 0, "full: a spawn after the pipe drained ran");
    return check_status();
}

/* A fork (how 1) or vfork (2) child with stderr into p, running the stand-in. */
static __attribute__((noinline)) pid_t start_captured(int how, int p[2])
{
    char *argv[] = {STANDIN, "out/harm-capture.env", NULL};
    pid_t pid = how == 1 ? fork() : vfork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execve("./" STANDIN, argv, bare_envp());
        _exit(127);
    }
    return pid;
}

/* Children whose stderr is a pipe this process reads: nothing of the shim's may land there. */
static int sub_capture(const char *mode)
{
    for (int how = 1; how <= 2; how++) {
        int p[2];
        if (pipe(p) != 0)
            die("pipe");
        pid_t pid = start_captured(how, p);
        close(p[1]);
        int status = wait_exit(pid);
        char buf[4096];
        drain(p[0], buf, sizeof buf);
        close(p[0]);
        check(status == 0, "capture %s: %s child ran", mode, how == 1 ? "fork" : "vfork");
        if (!check(strchr(buf, '{') == NULL, "capture %s: %s child: nothing in its captured stderr",
                   mode, how == 1 ? "fork" : "vfork"))
            diag("captured: %s", buf);
        printf("# child %ld\n", (long)pid);
        fflush(stdout);
    }
    return check_status();
}

/* fd 2 closed and taken over by a socket, then a spawn: the socket must stay empty. */
static int sub_socket(void)
{
    close(2);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    int mine = sv[0] == 2 ? sv[0] : dup2(sv[0], 2);
    int peer = sv[0] == 2 ? sv[1] : sv[1];
    check(mine == 2, "socket: fd 2 is now a socket");
    check(standin(0, "out/harm-socket.env") > 0, "socket: the MCP child ran");
    char buf[4096];
    size_t n = drain(peer, buf, sizeof buf);
    check(n == 0, "socket: nothing written into the socket that took fd 2 (%zu bytes)", n);
    return check_status();
}

static void on_usr1(int sig)
{
    (void)sig;
    static char *big[320];
    static char entries[300][24];
    for (int i = 0; i < 300; i++) {
        snprintf(entries[i], sizeof entries[i], "FILLER_%03d=x", i);
        big[i] = entries[i];
    }
    big[300] = "PATH=.:/usr/bin:/bin";
    big[301] = NULL;
    char *argv[] = {STANDIN, "out/harm-altstack.env", NULL};
    execve("./" STANDIN, argv, big);
    _exit(126);
}

/* An exec from a signal handler on an 8 KiB alternate stack, as crash reporters do. */
static int sub_altstack(void)
{
    unlink("out/harm-altstack.env");
    pid_t pid = fork();
    if (pid == 0) {
        /* 8 KiB with a guard page below it: an overflow faults instead of scribbling. */
        char *mem = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED || mprotect(mem, 4096, PROT_NONE) != 0)
            _exit(123);
        stack_t ss = {.ss_sp = mem + 4096, .ss_size = 8192};
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
        if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
            _exit(125);
        raise(SIGUSR1);
        _exit(124);
    }
    int status = wait_exit(pid);
    struct dump d;
    int dumped = dump_read("out/harm-altstack.env", &d) == 0;
    check(status == 0 && dumped, "altstack: the exec from the handler ran (status %d)", status);
    if (dumped) {
        check(dump_get(&d, "HTTPS_PROXY") != NULL, "altstack: and the child got the block");
        dump_free(&d);
    }
    return check_status();
}

/* How deep below the vfork point a vfork child's exec writes: the child runs on this frame's
 * stack, which stays ours, so after it has exec'd the untouched paint below shows its depth. */
#define PAINT (64 * 1024)
static __attribute__((noinline)) void paint(void)
{
    volatile unsigned char area[PAINT];
    for (size_t i = 0; i < PAINT; i++)
        area[i] = 0xa5;
    __asm__ volatile("" : : "r"(area) : "memory");
}

static __attribute__((noinline)) long vfork_depth(char *const envp[], const char *name)
{
    volatile unsigned char here = 0;
    paint();
    char *argv[] = {(char *)name, "out/harm-depth.env", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve(name, argv, envp);
        _exit(127);
    }
    if (pid < 0 || wait_exit(pid) != 0)
        return -1;
    volatile unsigned char *p = &here - PAINT;
    while (p < &here && *p == 0xa5)
        p++;
    return (long)(&here - p);
}

static int sub_vforkstack(void)
{
    static char *big[1100];
    static char entries[1000][24];
    for (int i = 0; i < 1000; i++) {
        snprintf(entries[i], sizeof entries[i], "FILLER_%04d=x", i);
        big[i] = entries[i];
    }
    big[1000] = "PATH=.:/usr/bin:/bin";
    big[1001] = NULL;
    vfork_depth(bare_envp(), "./" PLAIN); /* the first call pays for lazy binding */
    long plain = vfork_depth(bare_envp(), "./" PLAIN);
    long small = vfork_depth(bare_envp(), "./" STANDIN);
    long large = vfork_depth(big, "./" STANDIN);
    printf("# vfork child stack below the vfork frame: plain child %ld bytes, MCP child %ld, "
           "MCP child with a 1000-entry envp %ld\n", plain, small, large);
    check(plain > 0 && small > 0 && large > 0, "vforkstack: the three children ran");
    check(large <= 2048 && large - small <= 256,
          "vforkstack: the hook's stack does not grow with the envp, and stays under 2 KiB "
          "(%ld bytes with 1000 entries, %ld with 7)", large, small);
    return check_status();
}

/* execve with each kind of bad pointer, in a fork child: -1/EFAULT, never a signal. */
static int sub_badptr(void)
{
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    char *bad_values[] = {(char *)1, (char *)-1, page, gone};
    static const char *const NAMES[] = {"0x1", "-1", "a PROT_NONE page", "an unmapped page"};
    for (int b = 0; b < 4; b++) {
        char *bad = bad_values[b];
        char *ok_argv[] = {STANDIN, "out/harm-bad.env", NULL};
        char *argv0_bad[] = {bad, NULL};
        char *envp0_bad[] = {bad, NULL};
        struct {
            const char *what;
            const char *path;
            char *const *argv;
            char *const *envp;
        } cases[] = {
            {"path", bad, ok_argv, bare_envp()},
            {"argv", "./" STANDIN, (char *const *)bad, bare_envp()},
            {"envp", "./" STANDIN, ok_argv, (char *const *)bad},
            {"argv[0]", "./" STANDIN, argv0_bad, bare_envp()},
            {"envp[0]", "./" STANDIN, ok_argv, envp0_bad},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            pid_t pid = fork();
            if (pid == 0) {
                int rc = execve(cases[c].path, cases[c].argv, cases[c].envp);
                _exit(rc == -1 && errno == EFAULT ? 0 : 100 + errno);
            }
            int status = wait_exit(pid);
            check(status == 0, "badptr: execve with %s %s: -1/EFAULT (status %d)", cases[c].what,
                  NAMES[b], status);
        }
    }
    return check_status();
}

/* clearenv(), then a posix_spawn and a fork+execve of the stand-in with a fresh environment:
 * both get the host's load-time HTTPS_PROXY; after setenv of another value, still that one. */
static int sub_loadtime(void)
{
    const char *want = getenv("HTTPS_PROXY");
    if (!want)
        die("loadtime: the host has no HTTPS_PROXY");
    char host_value[256];
    snprintf(host_value, sizeof host_value, "%s", want);
    clearenv();
    setenv("HTTPS_PROXY", "http://set-after-load:9", 1);
    for (int how = 0; how < 2; how++) {
        const char *out = how ? "out/harm-loadtime-1.env" : "out/harm-loadtime-0.env";
        pid_t pid = standin(how, out);
        struct dump d;
        if (check(pid > 0 && dump_read(out, &d) == 0, "loadtime: %s child ran", how ? "fork" : "posix_spawn")) {
            const char *got = dump_get(&d, "HTTPS_PROXY");
            check(got && strcmp(got, host_value) == 0,
                  "loadtime: %s child got the load-time HTTPS_PROXY (%s)", how ? "fork" : "posix_spawn",
                  got ? got : "none");
            dump_free(&d);
        }
    }
    return check_status();
}

/* --- the driver ------------------------------------------------------------------------- */

struct setup {
    int err;        /* fd to make stderr, or -1 to keep */
    int out;        /* fd to make stdout, or -1 */
    int ctl_in;     /* fd to make fd 3, or -1 */
    int ctl_out;    /* fd to make fd 4, or -1 */
    const char *const *set;
    const char *const *drop;
    struct rlimit *fsize;
};

/* Starts `./t_harm --sub name` (or `prog` if given) with the descriptors and environment of s. */
static pid_t start(const char *name, const struct setup *s, const char *prog)
{
    char **env = env_with(s->set, s->drop);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (s->err >= 0)
            dup2(s->err, 2);
        if (s->out >= 0)
            dup2(s->out, 1);
        if (s->ctl_in >= 0)
            dup2(s->ctl_in, 3);
        if (s->ctl_out >= 0)
            dup2(s->ctl_out, 4);
        if (s->fsize)
            setrlimit(RLIMIT_FSIZE, s->fsize);
        if (prog) {
            char *argv[] = {(char *)prog, NULL};
            execve(prog, argv, env);
        } else {
            char *argv[] = {"./t_harm", "--sub", (char *)name, NULL};
            execve("./t_harm", argv, env);
        }
        _exit(127);
    }
    free(env);
    return pid;
}

static const char *const TO_STDERR[] = {"MCP_ENV_SHIM_LOG=stderr", NULL};

/* A pipe whose reader is gone. */
static int broken_pipe(void)
{
    int p[2];
    if (pipe(p) != 0)
        die("pipe");
    close(p[0]);
    return p[1];
}

static void t_sigpipe(void)
{
    struct setup s = {.err = broken_pipe(), .out = -1, .ctl_in = -1, .ctl_out = -1, .set = TO_STDERR};
    int status = wait_for(start("sigpipe", &s, NULL), 60);
    check(status == 0, "sigpipe: the host and its children were not killed (status %d)", status);
    const char *const bad_mode[] = {"MCP_ENV_SHIM=loud", "MCP_ENV_SHIM_LOG=stderr", NULL};
    s.set = bad_mode;
    status = wait_for(start(NULL, &s, "/bin/true"), 20);
    check(status == 0, "sigpipe: /bin/true with a bad MCP_ENV_SHIM is not killed (status %d)", status);
    close(s.err);
}

static void t_sigxfsz(void)
{
    const char *log = log_path();
    FILE *f = fopen(log, "w");
    for (int i = 0; f && i < 64; i++)
        fputs("0123456789012345678901234567890123456789012345678901234567890123\n", f);
    if (f)
        fclose(f);
    struct stat before, after;
    stat(log, &before);
    struct rlimit lim = {.rlim_cur = 1024, .rlim_max = RLIM_INFINITY};
    struct setup s = {.err = -1, .out = -1, .ctl_in = -1, .ctl_out = -1, .fsize = &lim};
    int status = wait_for(start("sigxfsz", &s, NULL), 60);
    check(status == 0, "sigxfsz: a log past RLIMIT_FSIZE kills nobody (status %d)", status);
    stat(log, &after);
    check(after.st_size == before.st_size, "sigxfsz: and the log was not written (%ld -> %ld bytes)",
          (long)before.st_size, (long)after.st_size);
    log_reset(log);
}

static void t_full(void)
{
    int p[2], up[2], down[2];
    if (pipe(p) != 0 || pipe(up) != 0 || pipe(down) != 0)
        die("pipe");
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char fill[4096];
    memset(fill, 'x', sizeof fill);
    while (write(p[1], fill, sizeof fill) > 0 || write(p[1], fill, 1) > 0)
        ;
    fcntl(p[1], F_SETFL, 0); /* the host's own description blocks, as stderr usually does */
    struct setup s = {.err = p[1], .out = -1, .ctl_in = down[0], .ctl_out = up[1], .set = TO_STDERR};
    pid_t pid = start("full", &s, NULL);
    close(p[1]);
    close(up[1]);
    close(down[0]);
    char c;
    struct pollfd pf = {.fd = up[0], .events = POLLIN};
    int flooded = poll(&pf, 1, 60000) == 1 && read(up[0], &c, 1) == 1;
    check(flooded, "full: 220 spawns with a full stderr pipe finished (no write blocked)");
    char *buf = malloc(1 << 20);
    drain(p[0], buf, 1 << 20);
    if (write(down[1], "y", 1) != 1)
        die("write");
    int status = wait_for(pid, 60);
    check(status == 0, "full: the host ran to completion (status %d)", status);
    drain(p[0], buf, 1 << 20);
    long dropped = 0;
    char *line = strstr(buf, "{\"ts\"");
    check(line && json_long(line, "dropped", &dropped) && dropped >= 200,
          "full: the next line written says %ld lines were dropped before it", dropped);
    free(buf);
}

static void t_capture(void)
{
    /* The gateway's own stderr: a file opened for append, then a pipe the test reads. */
    char path[] = "out/harm-gateway-stderr.XXXXXX";
    int f = mkstemp(path);
    int fa = open(path, O_WRONLY | O_APPEND);
    close(f);
    int hp[2];
    if (pipe(hp) != 0)
        die("pipe");
    static const char *const MODES[][3] = {{"MCP_ENV_SHIM_LOG=stderr", NULL},
                                           {"MCP_ENV_SHIM_LOG=stderr", "MCP_ENV_SHIM=audit", NULL}};
    for (int m = 0; m < 2; m++) {
        for (int dest = 0; dest < 2; dest++) {
            const char *mode = m ? "audit" : "mcp";
            const char *where = dest ? "a pipe" : "a file";
            struct setup s = {.err = dest ? hp[1] : fa, .out = -1, .ctl_in = -1, .ctl_out = -1,
                              .set = MODES[m]};
            int status = wait_for(start(mode, &s, NULL), 60);
            check(status == 0, "capture %s: the sub-test ran (status %d)", mode, status);
            char buf[16384];
            if (dest) {
                drain(hp[0], buf, sizeof buf);
            } else {
                int r = open(path, O_RDONLY);
                ssize_t n = read(r, buf, sizeof buf - 1);
                buf[n > 0 ? n : 0] = 0;
                close(r);
                if (ftruncate(fa, 0) != 0)
                    die("ftruncate");
            }
            int lines = 0;
            for (char *p = buf; (p = strstr(p, m ? "\"event\":\"audit\"" : "\"event\":\"inject\"")); p++)
                lines++;
            check(lines == 2, "capture %s: both children's lines went to the gateway's own stderr, "
                              "%s (%d lines)", mode, where, lines);
        }
    }
    close(fa);
    unlink(path);
}

static void t_socket(void)
{
    struct setup s = {.err = -1, .out = -1, .ctl_in = -1, .ctl_out = -1, .set = TO_STDERR};
    int status = wait_for(start("socket", &s, NULL), 60);
    check(status == 0, "socket: the sub-test ran (status %d)", status);
}

static void t_stdout(void)
{
    unlink("out/harm-stdout-link");
    if (symlink("/dev/stdout", "out/harm-stdout-link") != 0)
        die("symlink");
    static const char *const TARGETS[] = {"MCP_ENV_SHIM_LOG=/dev/stdout",
                                          "MCP_ENV_SHIM_LOG=/proc/self/fd/1", NULL};
    char cwd[512], linkvar[600];
    if (!getcwd(cwd, sizeof cwd))
        die("getcwd");
    snprintf(linkvar, sizeof linkvar, "MCP_ENV_SHIM_LOG=%s/out/harm-stdout-link", cwd);
    const char *targets[] = {TARGETS[0], TARGETS[1], linkvar};
    for (int t = 0; t < 3; t++) {
        int p[2];
        if (pipe(p) != 0)
            die("pipe");
        const char *set[] = {targets[t], NULL};
        struct setup s = {.err = -1, .out = p[1], .ctl_in = -1, .ctl_out = -1, .set = set};
        int status = wait_for(start("stdout", &s, NULL), 60);
        close(p[1]);
        char buf[16384];
        drain(p[0], buf, sizeof buf);
        close(p[0]);
        check(status == 0 && strchr(buf, '{') == NULL,
              "stdout: %s: nothing written into stdout (status %d)", targets[t], status);
    }
    unlink("out/harm-stdout-link");
}

static void t_journal(void)
{
    for (int journal = 0; journal < 2; journal++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die("socketpair");
        struct stat st;
        fstat(sv[1], &st);
        char var[96];
        snprintf(var, sizeof var, "JOURNAL_STREAM=%lu:%lu", (unsigned long)st.st_dev,
                 (unsigned long)st.st_ino);
        const char *set[] = {"MCP_ENV_SHIM_LOG=stderr", journal ? var : NULL, NULL};
        struct setup s = {.err = sv[1], .out = sv[1], .ctl_in = -1, .ctl_out = -1, .set = set};
        int status = wait_for(start("same", &s, NULL), 60);
        close(sv[1]);
        char buf[16384];
        drain(sv[0], buf, sizeof buf);
        close(sv[0]);
        int lines = 0;
        for (char *p = buf; (p = strstr(p, "\"event\":\"inject\"")); p++)
            lines++;
        if (journal)
            check(status == 0 && lines == 3, "journal: stdout and stderr the journal's socket "
                                             "(JOURNAL_STREAM): the lines go there (%d)", lines);
        else
            check(status == 0 && lines == 0, "journal: stdout and stderr one socket, not the "
                                             "journal's: nothing written there (%d lines)", lines);
    }
}

static void t_in_sub(const char *name)
{
    struct setup s = {.err = -1, .out = -1, .ctl_in = -1, .ctl_out = -1};
    int status = wait_for(start(name, &s, NULL), 120);
    check(status == 0, "%s: the sub-test ran to completion (status %d)", name, status);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--sub") == 0) {
        const char *c = argv[2];
        if (!strcmp(c, "sigpipe") || !strcmp(c, "sigxfsz") || !strcmp(c, "same"))
            return sub_three(c);
        if (!strcmp(c, "full"))
            return sub_full();
        if (!strcmp(c, "mcp") || !strcmp(c, "audit"))
            return sub_capture(c);
        if (!strcmp(c, "socket"))
            return sub_socket();
        if (!strcmp(c, "stdout"))
            return standin(0, "out/harm-stdout.env") > 0 ? 0 : 1;
        if (!strcmp(c, "altstack"))
            return sub_altstack();
        if (!strcmp(c, "vforkstack"))
            return sub_vforkstack();
        if (!strcmp(c, "badptr"))
            return sub_badptr();
        if (!strcmp(c, "loadtime"))
            return sub_loadtime();
        die("unknown sub-test %s", c);
    }
    t_sigpipe();
    t_sigxfsz();
    t_full();
    t_capture();
    t_socket();
    t_stdout();
    t_journal();
    t_in_sub("altstack");
    t_in_sub("vforkstack");
    t_in_sub("badptr");
    t_in_sub("loadtime");
    return check_status();
}
