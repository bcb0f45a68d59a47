/* attack5lib.c — the helper libraries of t_attack5, one source built three ways:
 *   -DHI     libattack5hi.so and libattack5hi2.so: two ordinary libraries linked at the same
 *            fixed base (-Ttext-segment, as prelinked or fixed-address vendor libraries are).
 *            The first gets its address; the loader maps the second lower than it was linked
 *            for, so its l_addr is "negative" (wraps, 0xffff...). Nothing else is special.
 *   -DIFUNC  libattack5ifunc.so: a posix_spawn interposer (a tracer) whose posix_spawn is a GNU
 *            IFUNC; its resolver finds the next posix_spawn with dlsym(RTLD_NEXT), as an
 *            interposer must. The loader runs resolvers while relocating (with -z now: at
 *            load), where dlsym is fine. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <spawn.h>

#ifdef HI
int HI(void) { return 5; }
#endif

#ifdef IFUNC
typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
                     const posix_spawnattr_t *, char *const[], char *const[]);
static spawn_fn *next_spawn;
static int traced_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return next_spawn(pid, path, fa, attr, argv, envp);
}
static spawn_fn *pick_spawn(void)
{
    next_spawn = (spawn_fn *)dlsym(RTLD_NEXT, "posix_spawn");
    return traced_spawn;
}
int posix_spawn(pid_t *, const char *, const posix_spawn_file_actions_t *,
                const posix_spawnattr_t *, char *const[], char *const[])
    __attribute__((ifunc("pick_spawn")));
#endif
