/* State of the running recording, shared by the recorder's parts.
 *
 * One recording per process.  Only the thread that started the recording is
 * recorded for now; the per-thread parts (call depth, scratch buffer) are
 * kept together so that per-thread recording can give each thread its own. */

#ifndef CTRECORD_RECORDER_H
#define CTRECORD_RECORDER_H

#include "trace_writer.h"
#include "pycore_frame.h"         // _PyInterpreterFrame

/* sys.monitoring tool id used by the recorder (ids 3 and 4 are unassigned
   by PEP 669). */
#define RECORDER_TOOL_ID 4

typedef struct {
    int active;
    int generation;             /* bumped per recording, see CodeInfo */
    PyThreadState *tstate;      /* the recorded thread */
    TraceWriter writer;
    JsonBuffer scratch;         /* values being encoded */
    /* Frames whose Call is open, innermost last: an exit closes a Call
       only if it is that frame's, so calls and returns stay balanced. */
    _PyInterpreterFrame **open_frames;
    Py_ssize_t depth;
    Py_ssize_t open_frames_capacity;
    int header_written;
    PyObject *fallback_path;    /* <toplevel>'s path if no user code runs */
    PyObject *workdir;          /* for relative code file names */
    PyObject *command_file;     /* the -c code, saved as a file, or NULL */
    PyObject *stdout_file;      /* the files whose writes are recorded */
    PyObject *stderr_file;
    int exit_status;
    int exit_status_known;
    char folder[4096];          /* absolute, UTF-8 */
} Recorder;

extern Recorder recorder;

/* Emit the <toplevel> Path/Function/Call and the None type, once. */
void recorder_write_header(PyObject *path);

/* Monitoring callbacks (hooks.c). */
int hooks_install(void);
void hooks_remove(void);

/* stdout/stderr capture (io_capture.c). */
int io_capture_start(void);
void io_capture_stop(void);

#endif
