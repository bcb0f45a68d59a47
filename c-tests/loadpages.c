/* loadpages — prints which pages of the library in LD_PRELOAD (one path) are mapped in this
 * process when main starts: what loading it cost in page faults (a fault on a file's page maps
 * the pages of its 64 KiB window). layout.py runs it.
 *
 * For each mapping of the library: "mapping START OFFSET PERMS" (hex: its address, and the file
 * offset there; then its permissions, as in /proc/self/maps), then "page ADDRESS" for each of its
 * pages that is mapped; and "wx START PATH" for any mapping of the process, the stack included,
 * that is both writable and executable (what a library's flags may cost every process). Reads
 * /proc/self/maps and /proc/self/pagemap (the present bit is readable without privilege); calls
 * nothing of the library. Its command line (argv[0] included) is only for the library to judge
 * at load: layout.py runs it as `bash -lc ...`, `node x.js` and so on. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *lib = getenv("LD_PRELOAD");
    (void)argc; /* its arguments are what the library sees at load; they mean nothing here */
    if (!lib || !*lib) {
        fprintf(stderr, "usage: LD_PRELOAD=/path/lib.so %s [ARG...]\n", argv[0]);
        return 2;
    }
    FILE *maps = fopen("/proc/self/maps", "r");
    int pm = open("/proc/self/pagemap", O_RDONLY);
    if (!maps || pm < 0) {
        perror("/proc/self");
        return 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    char line[4096];
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, off;
        char perms[8];
        int path = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &start, &end, perms, &off, &path) < 4)
            continue;
        line[strcspn(line, "\n")] = 0;
        if (strchr(perms, 'w') && strchr(perms, 'x'))
            printf("wx %lx %s\n", start, path ? line + path : "");
        if (!path || strcmp(line + path, lib) != 0)
            continue;
        printf("mapping %lx %lx %s\n", start, off, perms);
        for (unsigned long a = start; a < end; a += page) {
            uint64_t e;
            if (pread(pm, &e, sizeof e, (off_t)(a / page * sizeof e)) != sizeof e) {
                perror("pagemap");
                return 1;
            }
            if (e >> 63)
                printf("page %lx\n", a);
        }
    }
    return 0;
}
