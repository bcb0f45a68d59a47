/* envp.h — the environments the tests pass and read back: the restricted envp an MCP SDK
 * gives its server, the block keys, envdump's output, and the checks on a delivered envp. */
#ifndef ENVP_H
#define ENVP_H

#include <stddef.h>

/* The stand-in children, in the build directory (every test runs with it as cwd). */
#define STANDIN "mcp-server-standin"
#define PLAIN "plain-child"

/* Values of the child that the shim's log must never show. */
#define CHILD_OWN_PROXY "http://child-own:1"
#define CHILD_SECRET "child-secret-value"
#define ARGV_SECRET "--token=argv-secret-42"

/* The host keys naming a CA path that does not exist: never injected (not even with a
 * sibling's file: the key's own value is not second-guessed), logged as ca-file-not-found.
 * NULL-terminated. */
extern const char *const MISSING_CA_KEYS[];

/* The 20 built-in block keys, NULL-terminated. */
extern const char *const BLOCK_KEYS[];
/* Whether the key of `entry` ("KEY=value" or "KEY") is in `keys` (NULL-terminated). */
int key_in(const char *entry, const char *const keys[]);
/* Whether envp has an entry for key. */
int envp_has(char *const envp[], const char *key);
/* The key part of an entry, copied into out. */
void key_of(const char *entry, char *out, size_t n);

/* The envp of an MCP SDK: HOME LOGNAME PATH SHELL TERM USER, a declared secret, and two block
 * keys the child has itself: HTTPS_PROXY=CHILD_OWN_PROXY and an empty NO_PROXY=. */
char **child_envp(void);
/* The same without any block key. */
char **bare_envp(void);
size_t envp_len(char *const envp[]);

/* What envdump wrote: its pid and its environ. */
struct dump {
    long pid;
    size_t n;
    char **env;
    char *buf;
};
/* 0 on success; a missing or malformed file is -1. */
int dump_read(const char *path, struct dump *d);
void dump_free(struct dump *d);
/* The value of key in the dump (the first), or NULL. */
const char *dump_get(const struct dump *d, const char *key);
size_t dump_count(const struct dump *d, const char *key);

/* One check: the delivered envp is byte-for-byte `envp`. */
void check_untouched(const char *label, const struct dump *d, char *const envp[]);
/* The checks of an injected child: its own entries first, unchanged and in order; the host's
 * block values added for the keys it lacked; no key twice; only block keys (or `extra`) added;
 * no added CA key naming a missing path; none of MISSING_CA_KEYS. */
void check_injected(const char *label, const struct dump *d, char *const envp[],
                    const char *const extra[]);

#endif
