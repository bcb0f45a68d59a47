/* Prints this process's memory as the kernel sees it, and the heap allocations made before
 * main (the load: ld.so, libc, preloaded libraries' constructors), as KEY VALUE lines:
 *   rollup_rss_kb, rollup_pss_kb, rollup_anon_kb, rollup_private_kb  (smaps_rollup)
 *   lib_rss_kb, lib_pss_kb, lib_private_dirty_kb, lib_size_kb, lib_maps (mappings of a file
 *       whose path contains argv[1], e.g. libmcp_env_shim)
 *   allocs, alloc_bytes (if the malloc counter is preloaded)                               */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long field(const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) == 0 && line[n] == ':') return atol(line + n + 1);
    return -1;
}

int main(int argc, char **argv)
{
    unsigned long (*count)(unsigned long *) =
        (unsigned long (*)(unsigned long *))dlsym(RTLD_DEFAULT, "bench_malloc_count");
    unsigned long bytes = 0, allocs = count ? count(&bytes) : 0;
    const char *lib = argc > 1 ? argv[1] : "libmcp_env_shim";
    char line[4096];
    long rss = 0, pss = 0, anon = 0, priv = 0, v;
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) { perror("smaps_rollup"); return 1; }
    while (fgets(line, sizeof line, f)) {
        if ((v = field(line, "Rss")) >= 0) rss = v;
        else if ((v = field(line, "Pss")) >= 0) pss = v;
        else if ((v = field(line, "Anonymous")) >= 0) anon = v;
        else if ((v = field(line, "Private_Clean")) >= 0) priv += v;
        else if ((v = field(line, "Private_Dirty")) >= 0) priv += v;
    }
    fclose(f);
    long lrss = 0, lpss = 0, ldirty = 0, lsize = 0, maps = 0;
    int in_lib = 0;
    f = fopen("/proc/self/smaps", "r");
    if (!f) { perror("smaps"); return 1; }
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perms[8];
        /* A mapping header: "start-end perms offset dev inode [path]". */
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strchr(line, '-') < strchr(line, ' ')) {
            in_lib = strstr(line, lib) != NULL;
            maps += in_lib;
            continue;
        }
        if (!in_lib) continue;
        if ((v = field(line, "Size")) >= 0) lsize += v;
        else if ((v = field(line, "Rss")) >= 0) lrss += v;
        else if ((v = field(line, "Pss")) >= 0) lpss += v;
        else if ((v = field(line, "Private_Dirty")) >= 0) ldirty += v;
    }
    fclose(f);
    printf("rollup_rss_kb %ld\nrollup_pss_kb %ld\nrollup_anon_kb %ld\nrollup_private_kb %ld\n", rss, pss, anon, priv);
    printf("lib_maps %ld\nlib_size_kb %ld\nlib_rss_kb %ld\nlib_pss_kb %ld\nlib_private_dirty_kb %ld\n", maps, lsize, lrss, lpss, ldirty);
    if (count) printf("allocs %lu\nalloc_bytes %lu\n", allocs, bytes);
    return 0;
}
