/* State of the running recording, shared by the recorder's parts.
 *
 * One recording per process, one ThreadRecording per recorded thread: each
 * thread writes a trace folder of its own (thread_recording.c), because a
 * CodeTracer trace.json holds a single thread's steps. */

#ifndef CTRECORD_RECORDER_H
#define CTRECORD_RECORDER_H

#include "trace_writer.h"
#include "extension_writer.h"
#include "kept_value_events.h"
#include "pycore_frame.h"         // _PyInterpreterFrame

/* sys.monitoring tool id used by the recorder (ids 3 and 4 are unassigned
   by PEP 669). */
#define RECORDER_TOOL_ID 4

typedef struct {
    _PyInterpreterFrame *frame;
    struct CodeInfo_ *info;     /* of its code */
    long long step;             /* index in trace.json of its current step */
    /* The step before, and the code unit whose LINE event began `step`:
       a value produced on the line before and consumed by that
       instruction belongs to the step before. */
    long long previous_step;
    int line_unit;
    int line_steps;             /* steps on its lines so far */
    /* The trace's event count after its step, if that step's line is
       quiet (quiet_lines.h), else -1: while the count stays so, nothing
       has run since. */
    long long quiet_until;
    /* Kept from the frame's last step, from its third on (most frames
       run two or three lines, and only a loop passes a line again); the
       memory stays with the entry for the next frame at this depth. */
    KeptValueEvents kept;
} OpenFrame;

typedef struct {
    uint64_t thread_id;         /* PyThreadState.id */
    unsigned long ident;        /* threading.get_ident() */
    int index;                  /* 0: the thread that started the recording */
    int serial;                 /* tells CodeInfo whose ids it caches */
    int failed;                 /* this thread cannot be recorded */
    char folder[4096];
    TraceWriter writer;
    ExtensionWriter ext;
    JsonBuffer scratch;         /* values being encoded */
    /* Frames whose Call is open, innermost last: an exit closes a Call
       only if it is that frame's, so calls and returns stay balanced. */
    OpenFrame *open_frames;
    Py_ssize_t depth;
    Py_ssize_t open_frames_capacity;
    /* Argument ids and value offsets of the Call being written. */
    Py_ssize_t *arg_ids;
    size_t *arg_offsets;
    int arg_capacity;
    int header_written;
    /* The exception that last left a recorded frame, and that frame's
       caller: if the caller next reports it raised, it propagated.  The
       exception thrown into a generator, and the generator's frame: its
       raise at the yield is the throw, recorded already.  Compared, never
       dereferenced. */
    PyObject *unwinding;
    _PyInterpreterFrame *unwinding_into;
    PyObject *thrown;
    _PyInterpreterFrame *thrown_into;
    /* A probed jump about to land on a PROBE_MERGE (code_sites.h). */
    _PyInterpreterFrame *jump_frame;
    int jump_target;
} ThreadRecording;

typedef struct {
    int active;
    TraceFormat format;
    int record_assignments;
    int record_subexpressions;
    ThreadRecording **threads;  /* threads[0] started the recording */
    int nthreads;
    ThreadRecording *last;      /* the thread of the last event */
    int next_serial;
    PyObject *fallback_path;    /* <toplevel>'s path if no user code runs */
    PyObject *workdir;          /* for relative code file names */
    PyObject *program;          /* as the metadata names it */
    PyObject *args;             /* list of str */
    PyObject *command_file;     /* the -c code, saved as a file, or NULL */
    PyObject *stdout_file;      /* the files whose text is recorded */
    PyObject *stderr_file;
    PyObject *stdin_file;
    int exit_status;
    int fatal_signal;           /* the signal the program died of, or 0 */
    uint64_t fatal_signal_thread;   /* the thread it is recorded on */
    char folder[4096];          /* absolute, UTF-8 */
} Recorder;

extern Recorder recorder;

/* Threads (thread_recording.c). */
ThreadRecording *thread_recording_create(PyThreadState *tstate, const char *folder);
ThreadRecording *thread_recording_lookup(PyThreadState *tstate);

/* The recording of the thread `tstate` runs, created on first use; NULL
   if it cannot be recorded. */
static inline ThreadRecording *
thread_recording_of(PyThreadState *tstate)
{
    ThreadRecording *last = recorder.last;
    if (last != NULL && last->thread_id == tstate->id) {
        return last->failed ? NULL : last;
    }
    return thread_recording_lookup(tstate);
}

/* Close every thread's trace files and write their metadata, reporting
   failures.  Return -1 if a write failed. */
int thread_recordings_close(void);
void thread_recordings_free(void);
/* Remove the thread folders an earlier recording left in `folder`. */
void thread_recordings_remove_stale(const char *folder);
/* Drop every thread's trace without writing (a forked child). */
void thread_recordings_abandon(void);
/* Return None from the frames whose Calls are still open. */
void thread_recording_close_open_calls(ThreadRecording *tr);

/* Emit the <toplevel> Path/Function/Call and the None type, once. */
void recorder_write_header(ThreadRecording *tr, PyObject *path);
/* trace_metadata.json and trace_paths.json of a thread's folder. */
int recorder_write_metadata(ThreadRecording *tr, PyObject *paths);

/* The frame's entry in the open frames, or NULL. */
static inline OpenFrame *
open_frame(ThreadRecording *tr, _PyInterpreterFrame *frame)
{
    if (tr->depth > 0 && tr->open_frames[tr->depth - 1].frame == frame) {
        return &tr->open_frames[tr->depth - 1];
    }
    return NULL;
}

/* The step that records from `frame` belong to. */
static inline long long
current_step(ThreadRecording *tr, _PyInterpreterFrame *frame)
{
    OpenFrame *of = open_frame(tr, frame);
    return of != NULL ? of->step : tr->writer.steps - 1;
}

/* The file name of a code object as the trace shows it (hooks.c). */
PyObject *code_absolute_path(PyCodeObject *code);
/* Ids of a code object's path and function in tr's trace, interned on
   first use; -1 on failure. */
struct CodeInfo_;
Py_ssize_t code_path_id(ThreadRecording *tr, struct CodeInfo_ *info, PyCodeObject *code);
Py_ssize_t code_function_id(ThreadRecording *tr, struct CodeInfo_ *info,
                            _PyInterpreterFrame *frame);

/* Monitoring callbacks (hooks.c). */
int hooks_install(void);
void hooks_remove(void);

/* Stores and subexpression values (instruction_probes.c). */
int on_instruction(PyThreadState *tstate, _PyInterpreterFrame *frame,
                   _Py_CODEUNIT *instr, int event, PyObject *arg);

/* Exceptions (exception_events.c). */
int on_exception_event(PyThreadState *tstate, _PyInterpreterFrame *frame,
                       _Py_CODEUNIT *instr, int event, PyObject *arg);
void record_exception(ThreadRecording *tr, long long step, const char *kind,
                      Py_ssize_t function_id, PyObject *exc);

/* Say that the program dies of `signum` ("killed" or "terminated" by it),
   before the trace is finished: the signal is recorded as an error on the
   last step of thread `thread_id` (a PyThreadState id), with exit status
   128 + signum. */
void recorder_note_fatal_signal(int signum, const char *how, uint64_t thread_id);

/* Finishing the trace on a crash (fatal_signals.c). */
int fatal_signals_install(void);
void fatal_signals_remove(void);

/* Finishing the trace on SIGTERM and SIGHUP (termination_signals.c). */
int termination_signals_install(void);
void termination_signals_remove(void);
/* The thread that finishes is stopped before a fork, started after it. */
void termination_signals_stop_thread(void);
void termination_signals_restart_thread(void);
/* The signal received while recording, or 0; sending it again once the
   trace is finished, with its default action. */
int termination_signal_received(void);
void termination_signal_deliver(void);

/* stdin/stdout/stderr capture (io_capture.c). */
int io_capture_start(void);
void io_capture_stop(void);

#endif
