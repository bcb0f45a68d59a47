/* logscan.h — reading the shim's JSON-lines log (MCP_ENV_SHIM_LOG) without a JSON library:
 * the shim writes flat objects with known keys, so a field is found by `"key":`. */
#ifndef LOGSCAN_H
#define LOGSCAN_H

#include <stddef.h>

struct dump;

struct shimlog {
    char *buf;
    size_t n;
    char **lines;
};

/* The log file of this test, from MCP_ENV_SHIM_LOG (the runner sets one per test). */
const char *log_path(void);
/* Empties the log file, so the test sees only its own lines. */
void log_reset(const char *path);
/* Reads every line; a missing file is an empty log. */
void log_read(const char *path, struct shimlog *l);
void log_free(struct shimlog *l);

/* A string field, copied into out (1 if found). */
int json_str(const char *line, const char *key, char *out, size_t n);
/* A number field (1 if found). */
int json_long(const char *line, const char *key, long *out);
/* The strings of an array field into items (each at most 63 chars); count, or -1 if absent. */
int json_list(const char *line, const char *key, char items[][64], int max);
/* obj.key of an object field whose values are strings (1 if found). */
int json_obj_str(const char *line, const char *obj, const char *key, char *out, size_t n);

/* Lines with this pid and event (event NULL: any); *first gets the first such line. */
int log_count(const struct shimlog *l, long pid, const char *event, const char **first);
/* Lines with this event, whatever the pid. */
int log_count_event(const struct shimlog *l, const char *event);

/* The checks of an inject line: exactly one `inject` line with the child's pid, `via`, and
 * `reason` (NULL: any); `ppid` = this process, the child's parent; `injected` = the keys added to the child (the entries after the nenvp passed);
 * `kept` = exactly `kept`; `missing` holds each of MISSING_CA_KEYS as ca-file-not-found. */
void check_log_inject(const char *label, const struct shimlog *l, long pid, const char *via,
                      const char *reason, const struct dump *d, size_t nenvp,
                      const char *const kept[]);
/* One check: the log text holds none of the child's values (its own HTTPS_PROXY, its declared
 * secret, its HOME) nor a secret argv token. */
void check_log_private(const char *label, const struct shimlog *l);

#endif
