/* Finishing the trace when the program is told to terminate.
 *
 * SIGTERM (kill, timeout, docker stop, a CI job cancelled) and SIGHUP (the
 * terminal closed) end a program that does not handle them, and would
 * leave the trace unfinished.  While recording, where the program left
 * them to their default action, they come here instead.  The handler only
 * wakes a thread of ours through a pipe: the trace cannot be finished at
 * an arbitrary point of the interrupted code.  That thread takes the GIL,
 * so the program is then between two bytecodes (or in a call that released
 * the GIL, such as a sleep), and finishes the recording, which ends by
 * putting the default action back and sending the signal again: the
 * process dies of it, as it would have.
 *
 * A program that installs its own handler (signal.signal) replaces ours,
 * as it would replace the default.  The thread is stopped before a fork
 * (CPython warns about forking a process with threads) and started again
 * once the parent runs Python code again; meanwhile, and in a forked
 * child, the signals have their default action. */

#include "recorder.h"

#include "pycore_ctrecord.h"      // _PyCtRecord_Finish()

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const int termination_signals[] = {SIGTERM, SIGHUP};
#define TERMINATION_SIGNAL_COUNT \
    ((int)(sizeof(termination_signals) / sizeof(termination_signals[0])))
static int handled[TERMINATION_SIGNAL_COUNT];   /* ours is installed */

static pid_t recording_pid;
static int wake_pipe[2] = {-1, -1};
static pthread_t finisher;
static volatile sig_atomic_t finisher_running;
static volatile sig_atomic_t received;          /* the signal, or 0 */

#define STOP_FINISHER 0                         /* a byte that is no signal */

static void
on_termination_signal(int signum)
{
    int saved_errno = errno;
    unsigned char byte = (unsigned char)signum;
    int forked = getpid() != recording_pid;
    /* Set before the thread wakes up, which reads it. */
    if (!forked && !received) {
        received = signum;
    }
    if (forked || !finisher_running || write(wake_pipe[1], &byte, 1) != 1) {
        /* A forked child, or no thread to wake: die as before. */
        signal(signum, SIG_DFL);
        raise(signum);
    }
    errno = saved_errno;
}

static void *
run_finisher(void *read_end)
{
    int fd = (int)(intptr_t)read_end;
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int i = 0; i < TERMINATION_SIGNAL_COUNT; i++) {
        sigaddset(&blocked, termination_signals[i]);
    }
    pthread_sigmask(SIG_BLOCK, &blocked, NULL);
    unsigned char byte;
    ssize_t n;
    do {
        n = read(fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        close(fd);                  /* recording ended: no writer is left */
        return NULL;
    }
    if (n != 1 || byte == STOP_FINISHER) {
        return NULL;
    }
    PyGILState_STATE gil = PyGILState_Ensure();
    /* Finishing sends the signal again (termination_signal_deliver()). */
    _PyCtRecord_Finish();
    PyGILState_Release(gil);
    return NULL;
}

static int
start_finisher(void)
{
    if (pthread_create(&finisher, NULL, run_finisher, (void *)(intptr_t)wake_pipe[0]) != 0) {
        return -1;
    }
    finisher_running = 1;
    return 0;
}

/* Called with the GIL held: it is released while the thread ends, as the
   thread may be waiting for it to finish the trace. */
void
termination_signals_stop_thread(void)
{
    if (!finisher_running) {
        return;
    }
    finisher_running = 0;
    unsigned char byte = STOP_FINISHER;
    Py_BEGIN_ALLOW_THREADS
    if (write(wake_pipe[1], &byte, 1) == 1) {
        pthread_join(finisher, NULL);
    }
    else {
        pthread_detach(finisher);
    }
    Py_END_ALLOW_THREADS
}

static int
restart_finisher(void *unused)
{
    if (recorder.active && !finisher_running && wake_pipe[0] >= 0) {
        (void)start_finisher();
    }
    return 0;
}

/* os.fork() warns after its after-fork hooks if the process has threads:
   the thread starts again at the next check for pending calls. */
void
termination_signals_restart_thread(void)
{
    (void)Py_AddPendingCall(restart_finisher, NULL);
}

int
termination_signals_install(void)
{
    if (pipe2(wake_pipe, O_CLOEXEC) < 0) {
        return -1;
    }
    recording_pid = getpid();
    received = 0;
    if (start_finisher() < 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
        return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_termination_signal;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < TERMINATION_SIGNAL_COUNT; i++) {
        struct sigaction current;
        handled[i] = sigaction(termination_signals[i], NULL, &current) == 0 &&
                     current.sa_handler == SIG_DFL &&
                     sigaction(termination_signals[i], &action, NULL) == 0;
    }
    return 0;
}

/* Put the default action back where ours is still installed, and let the
   thread end: closing the pipe wakes it, and it is not waited for (this
   may run in a crashing thread, which must keep the GIL).  The signal
   received, if any, stays for termination_signal_deliver(). */
void
termination_signals_remove(void)
{
    for (int i = 0; i < TERMINATION_SIGNAL_COUNT; i++) {
        struct sigaction current;
        if (handled[i] && sigaction(termination_signals[i], NULL, &current) == 0 &&
            current.sa_handler == on_termination_signal)
        {
            signal(termination_signals[i], SIG_DFL);
        }
        handled[i] = 0;
    }
    if (finisher_running) {
        finisher_running = 0;
        pthread_detach(finisher);
    }
    else if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);        /* no thread to close it */
    }
    if (wake_pipe[1] >= 0) {
        close(wake_pipe[1]);
    }
    wake_pipe[0] = wake_pipe[1] = -1;
}

int
termination_signal_received(void)
{
    return received;
}

void
termination_signal_deliver(void)
{
    if (received) {
        signal(received, SIG_DFL);
        kill(getpid(), received);
    }
}
