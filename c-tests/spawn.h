/* spawn.h — starting a program through each libc entry point the shim interposes, from fork()
 * or vfork(), the way real parents do, and waiting for it. */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/types.h>

enum entry {
    EP_EXECVE, EP_EXECV, EP_EXECVP, EP_EXECVPE, EP_EXECL, EP_EXECLP, EP_EXECLE,
    EP_FEXECVE, EP_EXECVEAT, EP_POSIX_SPAWN, EP_POSIX_SPAWNP, EP_COUNT
};
enum how { VIA_FORK, VIA_VFORK };

/* The libc function's name: what the log's `via` must say. */
const char *entry_name(enum entry e);
/* Whether it is an exec* (called in a forked child) rather than a posix_spawn*. */
int entry_is_exec(enum entry e);
const char *how_name(enum how h);

/* Starts the program `name` of the build directory (the cwd) through `e`: as "./name" for the
 * path forms, the bare name for the PATH-searching ones, a memfd copy named `name` for fexecve
 * (see spawn.c), a directory fd plus name for execveat. argv must have exactly 3 entries (the execl* forms spell them out). The
 * forms without an envp get `envp` by the child setting `environ` first, as libuv does; in a
 * vfork child that assignment lands in the parent's memory too, so the parent restores it.
 * `how` is ignored for posix_spawn*. Returns the child's pid, or -1 (errno) if it did not start. */
pid_t spawn_via(enum entry e, enum how how, const char *name, char *const argv[],
                char *const envp[]);

/* How the entry point names the program `name` of the cwd: "./name" for the path forms, the
 * bare name for the PATH-searching ones and execveat (relative to its directory fd); a name
 * with a slash is kept as it is. buf holds the result if needed. */
const char *entry_target(enum entry e, const char *name, char *buf, size_t n);

/* The exec call itself, for a child of fork() or vfork(): target as entry_target gives it, fd
 * the file for fexecve or the directory for execveat; the forms without an envp set `environ`
 * to envp first, as libuv does. Returns only if the exec failed (-1, errno). */
int exec_entry(enum entry e, const char *target, int fd, char *const argv[], char *const envp[]);

/* The last `how` an entry point is tried from: vfork too for the exec* forms. */
enum how last_how(enum entry e);

struct dump;
/* Starts the stand-in `prog` (argv: prog, its dump file, a secret token that must never reach
 * the log) through `e` from `h` with `envp`, waits, and reads its dump into `d`. `label` is
 * "<prefix> <entry> from <how>"; one check says whether the child ran and dumped its env.
 * Returns the child's pid, or -1 if it did not. */
pid_t run_standin(enum entry e, enum how h, const char *prog, const char *prefix, char **envp,
                  struct dump *d, char *label, size_t label_len);

/* Waits for pid: its exit status, 128+signal if killed, -1 on a waitpid error. */
int wait_exit(pid_t pid);

/* The environment of this process with each KEY=VALUE of `set` replacing or adding its key,
 * and each key of `drop` removed (either list may be NULL). Freed by the caller (one free). */
char **env_with(const char *const set[], const char *const drop[]);

/* Runs `path` as `argv` with `envp` under RLIMIT_DATA `kb` KiB (none if kb <= 0), its stdout
 * and stderr on /dev/null (the loader's complaints), and waits: its status as wait_exit gives
 * it (90: the limit could not be set). */
int run_with_data_limit(const char *path, char *const argv[], char *const envp[], long kb);

/* Runs this test binary again, as `self --sub args...`, with envp: the way a sub-test gets a
 * different MCP_ENV_SHIM* (the shim reads it once, at load). Returns its exit status. */
int run_sub(const char *self, const char *const args[], char *const envp[]);

#endif
