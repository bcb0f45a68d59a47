/* posix_spawn and posix_spawnp under both of glibc's symbol versions on x86_64. A program built
 * before glibc 2.15 (or one that pins the old version) calls posix_spawn@GLIBC_2.2.5, which
 * runs a file without #! through /bin/sh; the 2.15 version fails with ENOEXEC instead. The
 * loader binds each program to the version it was linked against, so the shim defines both,
 * under the same version names (src/exports-x86_64.map), and each calls libc's own of the same
 * version. Rust cannot attach a symbol version; this file only forwards. */
#if defined(__x86_64__)
#include <spawn.h>

/* Hidden: a direct call, no PLT slot for the loader to bind in every process. */
__attribute__((visibility("hidden"))) int __mcp_env_shim_posix_spawn(int how, pid_t *pid, const char *path,
                               const posix_spawn_file_actions_t *actions,
                               const posix_spawnattr_t *attr, char *const argv[],
                               char *const envp[]);

#define FORWARD(name, how)                                                                   \
    int name(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,        \
             const posix_spawnattr_t *attr, char *const argv[], char *const envp[])          \
    {                                                                                        \
        return __mcp_env_shim_posix_spawn(how, pid, path, actions, attr, argv, envp);        \
    }

FORWARD(mcp_env_shim_posix_spawn_2_15, 0)
FORWARD(mcp_env_shim_posix_spawnp_2_15, 1)
FORWARD(mcp_env_shim_posix_spawn_2_2_5, 2)
FORWARD(mcp_env_shim_posix_spawnp_2_2_5, 3)

__asm__(".symver mcp_env_shim_posix_spawn_2_15, posix_spawn@@GLIBC_2.15");
__asm__(".symver mcp_env_shim_posix_spawnp_2_15, posix_spawnp@@GLIBC_2.15");
__asm__(".symver mcp_env_shim_posix_spawn_2_2_5, posix_spawn@GLIBC_2.2.5");
__asm__(".symver mcp_env_shim_posix_spawnp_2_2_5, posix_spawnp@GLIBC_2.2.5");
#endif
