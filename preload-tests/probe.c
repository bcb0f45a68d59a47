/* probe.c — libpreloadprobe.so, the mechanism test's library: it proves that the namespace's
 * /etc/ld.so.preload is read by the loader, independently of the shim. Its constructor appends
 * "loaded pid=P" to the file PRELOAD_PROBE_LOG names, if that variable is set; it does nothing
 * else, so it is harmless in every other process of the namespace. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void probe(void)
{
    const char *log = getenv("PRELOAD_PROBE_LOG");
    if (!log || log[0] != '/')
        return;
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "loaded pid=%ld\n", (long)getpid());
    if (n > 0 && write(fd, line, (size_t)n) != n)
        n = -1;
    close(fd);
}
