/* dump.c — a server stand-in that reports what it got. Installed under several names (an
 * MCP-looking one, a plain one, set-user-ID copies), it writes to stdout NUL-terminated records:
 *   pid=P  ppid=Q  uid=U  euid=E  secure=0|1 (AT_SECURE)  map=PATH (each shared object mapped,
 *   so the test sees whether the preload reached it)  env  then each entry of `environ`,
 * as the process has it in main, after every constructor (a self-heal included) has run.
 * Only write(2), so the record is exact. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w <= 0)
            _exit(3);
        s += w;
        n -= (size_t)w;
    }
}

static void record(const char *s)
{
    put(s, strlen(s) + 1);
}

/* One map=PATH record per distinct shared object in /proc/self/maps. */
static void maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[4096], last[4096] = "";
    while (fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path || !strstr(path, ".so"))
            continue;
        path[strcspn(path, "\n")] = 0;
        if (strcmp(path, last) == 0)
            continue;
        snprintf(last, sizeof last, "%s", path);
        char rec[4200];
        snprintf(rec, sizeof rec, "map=%s", path);
        record(rec);
    }
    fclose(f);
}

int main(void)
{
    char rec[128];
    snprintf(rec, sizeof rec, "pid=%ld", (long)getpid());
    record(rec);
    snprintf(rec, sizeof rec, "ppid=%ld", (long)getppid());
    record(rec);
    snprintf(rec, sizeof rec, "uid=%ld", (long)getuid());
    record(rec);
    snprintf(rec, sizeof rec, "euid=%ld", (long)geteuid());
    record(rec);
    snprintf(rec, sizeof rec, "secure=%d", getauxval(AT_SECURE) != 0);
    record(rec);
    maps();
    record("env");
    for (char **e = environ; *e; e++)
        record(*e);
    return 0;
}
