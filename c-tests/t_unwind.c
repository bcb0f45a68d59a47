/* t_unwind.c — proves that the library's unwinding tables still work where src/load.ld puts them
 * (the RELRO segment, out of the first one): for each exported entry point, the unwinder that a
 * debugger's or a crash handler's backtrace uses (libgcc's _Unwind_Find_FDE, through the
 * library's PT_GNU_EH_FRAME header and its search table) finds the frame description of exactly
 * that function, and the description lies in memory that is read-only once the library is
 * loaded. Run with the shim preloaded: the names resolve to it first. */
#define _GNU_SOURCE
#include "check.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libgcc_s's lookup of the frame description that covers an address (unwind-dw2-fde.h). */
struct dwarf_eh_bases {
    void *tbase;
    void *dbase;
    void *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

/* The permissions of the mapping that holds addr ("r--p"...), from /proc/self/maps. */
static int perms_of(const void *addr, char perms[8])
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    if (!maps)
        die("/proc/self/maps: cannot open");
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && (unsigned long)addr >= start &&
            (unsigned long)addr < end)
            found = 1;
    }
    fclose(maps);
    return found;
}

int main(void)
{
    static const char *const names[] = {
        "execve",      "execv",        "execvp",  "execvpe", "execveat",   "fexecve",
        "execl",       "execlp",       "execle",  "posix_spawn", "posix_spawnp", "longjmp",
        "siglongjmp",  "_longjmp",     "__longjmp_chk",
    };
    const char *preload = getenv("LD_PRELOAD");
    char shim[PATH_MAX];
    if (!preload || !realpath(preload, shim))
        die("LD_PRELOAD must name the shim (run.sh sets it)");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        void *fn = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info info;
        char where[PATH_MAX];
        if (!check(fn && dladdr(fn, &info) && info.dli_fname && realpath(info.dli_fname, where) &&
                       strcmp(where, shim) == 0,
                   "%s resolves to the shim", names[i]))
            continue;
        struct dwarf_eh_bases bases = {0};
        /* An address inside the function, as a return address into it would be. */
        const void *fde = _Unwind_Find_FDE((char *)fn + 1, &bases);
        if (!check(fde && bases.func == fn, "the unwinder finds the frame description of %s", names[i])) {
            diag("fde %p, its function %p, %s at %p", fde, bases.func, names[i], fn);
            continue;
        }
        char perms[8] = "";
        check(perms_of(fde, perms) && perms[0] == 'r' && perms[1] == '-',
              "the frame description of %s is in read-only memory (%s)", names[i], perms);
    }
    return check_status();
}
