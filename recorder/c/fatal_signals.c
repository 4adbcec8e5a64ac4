/* Finishing the trace when the program dies of a fatal signal.
 *
 * A crash in native code (a segmentation fault in an extension or through
 * ctypes, abort()) would leave the trace unfinished: trace.json without its
 * end, trace.ct without its directory, no trace_paths.json.  While
 * recording, the fatal signals come here first: the handlers that were
 * there before are put back, the crashing thread takes the GIL (the
 * interpreter is then between two bytecodes in every other thread), the
 * trace is finished with an error event naming the signal, and the signal
 * is raised again, so the process dies as it would have.
 *
 * Finishing is not async-signal-safe.  A second fault while finishing goes
 * to the handler that was there before (by default: the process dies, as
 * without recording), and a hang is cut short by an alarm.  A crash on the
 * trace writer's own thread, or a stack overflow (no alternate stack), is
 * not finished. */

#include "recorder.h"
#include "output_stream.h"

#include "pycore_ctrecord.h"      // _PyCtRecord_Finish()

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Seconds finishing may take before SIGALRM ends the process. */
#define FINISH_TIMEOUT 30

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define FATAL_SIGNAL_COUNT ((int)(sizeof(fatal_signals) / sizeof(fatal_signals[0])))
static struct sigaction previous[FATAL_SIGNAL_COUNT];
static int installed;

static void
restore_previous_handlers(void)
{
    if (!installed) {
        return;
    }
    installed = 0;
    for (int i = 0; i < FATAL_SIGNAL_COUNT; i++) {
        (void)sigaction(fatal_signals[i], &previous[i], NULL);
    }
}

static void
on_fatal_signal(int signum)
{
    restore_previous_handlers();
    if (recorder.active && !output_streams_on_writer_thread()) {
        /* Even if the program handles SIGALRM, the alarm ends a hang. */
        signal(SIGALRM, SIG_DFL);
        alarm(FINISH_TIMEOUT);
        PyGILState_STATE gil = PyGILState_Ensure();
        recorder_note_fatal_signal(signum, "killed", PyThreadState_Get()->id);
        _PyCtRecord_Finish();
        PyGILState_Release(gil);
        alarm(0);
    }
    raise(signum);
}

int
fatal_signals_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_fatal_signal;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < FATAL_SIGNAL_COUNT; i++) {
        if (sigaction(fatal_signals[i], &action, &previous[i]) < 0) {
            for (int j = 0; j < i; j++) {
                (void)sigaction(fatal_signals[j], &previous[j], NULL);
            }
            return -1;
        }
    }
    installed = 1;
    return 0;
}

/* Put the handlers back where ours is still the one installed: one the
   program installed since (faulthandler, say) stays. */
void
fatal_signals_remove(void)
{
    if (!installed) {
        return;
    }
    installed = 0;
    for (int i = 0; i < FATAL_SIGNAL_COUNT; i++) {
        struct sigaction current;
        if (sigaction(fatal_signals[i], NULL, &current) == 0 &&
            current.sa_handler == on_fatal_signal)
        {
            (void)sigaction(fatal_signals[i], &previous[i], NULL);
        }
    }
}
