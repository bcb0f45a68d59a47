/* t_spare.c — memory at load under a tight RLIMIT_DATA: every allocation the shim's constructor
 * makes must have been set aside first, or the process dies of SIGABRT at load where it runs
 * without the shim. Each case sweeps RLIMIT_DATA (KiB) and fails if any limit at which the
 * program exits 0 without the shim kills it by a signal with it (the loader refusing to map
 * the library, exit 127, is not the shim's code). A helper's attack found each one:
 *   quoted    a plain process whose MCP_ENV_SHIM is 10 KB of DEL bytes: the warning quoted it
 *             escaped, 6 bytes a byte, far past what was set aside;
 *   tlsdir    one whose OPENSHELL_PROXY_TLS_DIR is 40 KB of 0xFF bytes: read as text, each bad
 *             byte became 3, in several copies;
 *   delcfg    one whose config has a string of 17,100 DEL bytes where a list belongs: the
 *             parser's error quoted it escaped, past the config's memory budget;
 *   grown     another preloaded library's constructor adds 20,000 variables before the shim's
 *             runs: the shim counted the loader's array (3 entries), then copied environ;
 *   noproxy   a server healing itself whose parent has a 100 KB NO_PROXY: its block values are
 *             copied after the check;
 *   audit     the same in audit mode with a parent of 2,000 mappings: the maps file it reads
 *             moved the allocator to a region of its own, which the rest then outgrew.
 * The parents of the healing cases are this program, run again with the environment they need
 * (`t_spare --sub CASE`). */
#define _GNU_SOURCE
#include "check.h"
#include "spawn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char preload[4200];

/* /bin/true as argv0 under RLIMIT_DATA `kb` KiB with `env`: its status as wait_exit gives it. */
static int run(long kb, const char *argv0, char **env)
{
    char *argv[] = {(char *)argv0, NULL};
    return run_with_data_limit("/bin/true", argv, env, kb);
}

/* The first and last limit in [lo, hi] where the program runs without the shim and is killed by
 * a signal with it; how many limits ran. Returns whether none killed it. */
static int sweep(const char *what, const char *argv0, char **without, char **with, long lo,
                 long hi, long step)
{
    long first = 0, last = 0;
    int status = 0, ran = 0;
    for (long kb = lo; kb <= hi; kb += step) {
        if (run(kb, argv0, without) != 0)
            continue;
        ran++;
        int st = run(kb, argv0, with);
        if (st > 128) {
            if (!first)
                first = kb, status = st;
            last = kb;
        }
    }
    char killed[80] = "none";
    if (first)
        snprintf(killed, sizeof killed, "%ld..%ld KiB, status %d", first, last, status);
    return check(ran > 0 && !first,
                 "%s: not killed at load under an RLIMIT_DATA it runs within without the shim "
                 "(%d limits from %ld to %ld KiB ran; killed at: %s)",
                 what, ran, lo, hi, killed);
}

static int parent(const char *which)
{
    static char vars[400][16];
    static char *without[404], *with[405];
    int n = 0;
    for (int i = 0; i < 400; i++, n++) {
        snprintf(vars[i], sizeof vars[i], "V%05d=x", i);
        without[n] = with[n] = vars[i];
    }
    without[n] = with[n] = "PATH=/usr/bin:/bin";
    n++;
    if (strcmp(which, "audit") == 0) {
        /* 2,000 mappings: a maps file of about 200 KB for the shim to read. */
        char *b = mmap(NULL, 2000 * 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED)
            return 2;
        for (int i = 0; i < 2000; i++)
            mprotect(b + (size_t)i * 8192, 4096, PROT_READ);
        without[n] = with[n] = "MCP_ENV_SHIM=audit";
        n++;
    }
    without[n] = NULL;
    with[n] = preload;
    with[n + 1] = NULL;
    if (strcmp(which, "audit") == 0)
        return !sweep("audit: a server in audit mode whose parent has 2000 mappings",
                      "mcp-server-x", without, with, 260, 760, 8);
    return !sweep("noproxy: a server healing itself whose parent has a 100 KB NO_PROXY",
                  "mcp-server-x", without, with, 260, 700, 8);
}

int main(int argc, char **argv)
{
    const char *shim = getenv("LD_PRELOAD");
    if (argc == 3 && strcmp(argv[1], "--sub") == 0) {
        const char *s = getenv("SHIM_UNDER_TEST");
        if (!s)
            return 2;
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", s);
        return parent(argv[2]);
    }
    if (!shim)
        die("no LD_PRELOAD");
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);

    static char mode[10020];
    memcpy(mode, "MCP_ENV_SHIM=", 13);
    memset(mode + 13, 0x7f, 10000);
    char *qa[] = {"PATH=/usr/bin:/bin", mode, NULL}, *qb[] = {"PATH=/usr/bin:/bin", mode, preload, NULL};
    sweep("quoted: a plain process whose MCP_ENV_SHIM is 10 KB of DEL bytes", "true", qa, qb, 200,
          600, 8);

    static char tls[40040];
    memcpy(tls, "OPENSHELL_PROXY_TLS_DIR=", 24);
    memset(tls + 24, 0xff, 40000);
    char *ta[] = {"PATH=/usr/bin:/bin", tls, NULL}, *tb[] = {"PATH=/usr/bin:/bin", tls, preload, NULL};
    sweep("tlsdir: a plain process whose OPENSHELL_PROXY_TLS_DIR is 40 KB not UTF-8", "true", ta,
          tb, 300, 900, 8);

    FILE *cfg = fopen("out/spare-del.json", "w");
    if (!cfg)
        die("cannot write out/spare-del.json");
    fputs("{\"include\":\"", cfg);
    for (int i = 0; i < 17100; i++)
        fputc(0x7f, cfg);
    fputs("\"}", cfg);
    fclose(cfg);
    char *da[] = {"PATH=/usr/bin:/bin", "MCP_ENV_SHIM_CONFIG=out/spare-del.json", NULL};
    char *db[] = {"PATH=/usr/bin:/bin", "MCP_ENV_SHIM_CONFIG=out/spare-del.json", preload, NULL};
    sweep("delcfg: a plain process whose config has 17,100 DEL bytes where a list belongs", "true",
          da, db, 850, 1150, 8);

    static char grown[4400];
    char cwd[2048];
    if (!getcwd(cwd, sizeof cwd))
        die("getcwd");
    snprintf(grown, sizeof grown, "LD_PRELOAD=%s:%s/libgrow.so", shim, cwd);
    static char alone[2100];
    snprintf(alone, sizeof alone, "LD_PRELOAD=%s/libgrow.so", cwd);
    char *ga[] = {"PATH=/usr/bin:/bin", "GROW_N=20000", alone, NULL};
    char *gb[] = {"PATH=/usr/bin:/bin", "GROW_N=20000", grown, NULL};
    sweep("grown: another library's constructor adds 20000 variables before the shim's", "true",
          ga, gb, 1600, 2000, 25);

    static char noproxy[100020], under[4200];
    memcpy(noproxy, "NO_PROXY=", 9);
    memset(noproxy + 9, 'x', 100000);
    snprintf(under, sizeof under, "SHIM_UNDER_TEST=%s", shim);
    const char *cases[] = {"noproxy", "audit"};
    char *np[] = {"PATH=/usr/bin:/bin", "HTTPS_PROXY=http://127.0.0.1:3128", noproxy, under, NULL};
    char *plain[] = {"PATH=/usr/bin:/bin", under, NULL};
    for (int k = 0; k < 2; k++) {
        const char *args[] = {cases[k], NULL};
        int st = run_sub("./t_spare", args, k == 0 ? np : plain);
        check(st == 0, "%s: the parent's sweep ran and passed (status %d)", cases[k], st);
    }
    return check_status();
}
