/* t_jumps.c — the shim interposes longjmp, _longjmp, siglongjmp and __longjmp_chk (a jump out
 * of a handler that interrupted a log write ends the write's window, sigwindow.rs). Each must
 * behave exactly as libc's: the value setjmp returns, the signal mask siglongjmp restores (or
 * not), a jump out of a signal handler. Built twice: fortified (every jump is __longjmp_chk)
 * and, as t_jumps_plain, without (longjmp, _longjmp and siglongjmp themselves). */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#ifndef PLAIN
#define _FORTIFY_SOURCE 2
#endif
#include "check.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>

static sigjmp_buf from_handler;

static void on_usr1(int sig)
{
    (void)sig;
    siglongjmp(from_handler, 5);
}

static int blocked(int sig)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig);
}

int main(void)
{
    jmp_buf env;
    volatile int rounds = 0;
    int v = setjmp(env);
    if (v == 0 && rounds++ == 0)
        longjmp(env, 7);
    check(v == 7 && rounds == 1, "longjmp: setjmp returns the value passed (%d)", v);
    v = _setjmp(env);
    if (v == 0)
        _longjmp(env, 0); /* 0 comes back as 1 */
    check(v == 1, "_longjmp with 0: _setjmp returns 1 (%d)", v);

    sigjmp_buf senv;
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    v = sigsetjmp(senv, 1);
    if (v == 0) {
        sigprocmask(SIG_BLOCK, &usr2, NULL);
        siglongjmp(senv, 3);
    }
    check(v == 3 && !blocked(SIGUSR2), "siglongjmp with a saved mask restores it (%d, %d)", v,
          blocked(SIGUSR2));
    v = sigsetjmp(senv, 0);
    if (v == 0) {
        sigprocmask(SIG_BLOCK, &usr2, NULL);
        siglongjmp(senv, 4);
    }
    check(v == 4 && blocked(SIGUSR2), "siglongjmp without a saved mask keeps the current one");
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    v = sigsetjmp(from_handler, 1);
    if (v == 0)
        raise(SIGUSR1);
    check(v == 5 && !blocked(SIGUSR1), "a jump out of a signal handler lands, the mask restored");
    return check_status();
}
