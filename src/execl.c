/* The variadic exec functions. Stable Rust cannot define a variadic function, so these build
 * their argv on the stack, as glibc does, and hand over to the Rust hook. No allocation. */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>

/* Hidden: a direct call, no PLT slot for the loader to bind in every process. */
__attribute__((visibility("hidden"))) int __mcp_env_shim_exec_list(int which, const char *path, char *const argv[], char *const envp[]);

/* Counts the arguments up to the terminating NULL, arg0 included. Too many: E2BIG, as glibc
 * says, set by the Rust side (which = -1): errno is not named here, so that the library imports
 * no libc symbol for it. */
#define COUNT_ARGS(arg, argc)                                   \
    do {                                                        \
        va_list ap_;                                            \
        va_start(ap_, arg);                                     \
        for (argc = 1; va_arg(ap_, const char *) != NULL; argc++) \
            if (argc == INT_MAX) {                              \
                va_end(ap_);                                    \
                return __mcp_env_shim_exec_list(-1, NULL, NULL, NULL); \
            }                                                   \
        va_end(ap_);                                            \
    } while (0)

/* Fills argv[0..argc] from `arg` and the arguments after it (the last one is the NULL).
 * Takes a pointer: the caller (execle) goes on reading the same list afterwards. */
static void fill(const char **argv, size_t argc, const char *arg, va_list *ap) {
    argv[0] = arg;
    for (size_t i = 1; i <= argc; i++)
        argv[i] = va_arg(*ap, const char *);
}

int mcp_env_shim_execl(const char *path, const char *arg, ...) {
    size_t argc;
    COUNT_ARGS(arg, argc);
    const char *argv[argc + 1];
    va_list ap;
    va_start(ap, arg);
    fill(argv, argc, arg, &ap);
    va_end(ap);
    return __mcp_env_shim_exec_list(0, path, (char *const *)argv, NULL); /* the current environ */
}

int mcp_env_shim_execlp(const char *file, const char *arg, ...) {
    size_t argc;
    COUNT_ARGS(arg, argc);
    const char *argv[argc + 1];
    va_list ap;
    va_start(ap, arg);
    fill(argv, argc, arg, &ap);
    va_end(ap);
    return __mcp_env_shim_exec_list(1, file, (char *const *)argv, NULL); /* the current environ */
}

int mcp_env_shim_execle(const char *path, const char *arg, ...) {
    size_t argc;
    COUNT_ARGS(arg, argc);
    const char *argv[argc + 1];
    va_list ap;
    va_start(ap, arg);
    fill(argv, argc, arg, &ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return __mcp_env_shim_exec_list(2, path, (char *const *)argv, envp);
}

/* The exported names are aliases: the Rust side keeps this file in the link through the names
 * above, which are not exported, so the reference is resolved when the library is linked, not
 * looked up by the loader in every process. */
int execl(const char *path, const char *arg, ...) __attribute__((alias("mcp_env_shim_execl")));
int execlp(const char *file, const char *arg, ...) __attribute__((alias("mcp_env_shim_execlp")));
int execle(const char *path, const char *arg, ...) __attribute__((alias("mcp_env_shim_execle")));
