/* Recording of the program's standard streams.
 *
 * Text is taken at io.TextIOWrapper.write() before buffering, and at
 * read(), readline() and iteration after decoding (the 0003 patch), so
 * each lands on the step that wrote or read it, in the trace of the thread
 * that did.  Only the three wrappers that were sys.stdin, sys.stdout and
 * sys.stderr when recording started are watched.  os.write() on file
 * descriptors 1 and 2 is recorded too, decoded as UTF-8. */

#include "recorder.h"
#include "pycore_ctrecord.h"      // _PyIO_TextWriteHook

/* The hooks are process-wide; only the main interpreter is recorded.  The
   caller's exception, if one is set, is kept. */
static void
record_io(int kind, PyObject *text)
{
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        return;
    }
    PyObject *exc = PyErr_GetRaisedException();
    ThreadRecording *tr = thread_recording_of(PyThreadState_Get());
    if (tr != NULL) {
        recorder_write_header(tr, recorder.fallback_path);
        tw_io(&tr->writer, kind, text);
    }
    PyErr_SetRaisedException(exc);
}

static void
on_text_write(PyObject *file, PyObject *text)
{
    if (!recorder.active) {
        return;
    }
    if (file == recorder.stdout_file) {
        record_io(EVENT_KIND_WRITE, text);
    }
    else if (file == recorder.stderr_file) {
        record_io(EVENT_KIND_WRITE_OTHER, text);
    }
}

static void
on_text_read(PyObject *file, PyObject *text)
{
    if (recorder.active && file == recorder.stdin_file && PyUnicode_GET_LENGTH(text) > 0) {
        record_io(EVENT_KIND_READ, text);
    }
}

static void
on_fd_write(int fd, const char *data, Py_ssize_t len)
{
    if (!recorder.active || (fd != 1 && fd != 2) || len <= 0) {
        return;
    }
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *text = PyUnicode_DecodeUTF8(data, len, "replace");
    if (text != NULL) {
        record_io(fd == 1 ? EVENT_KIND_WRITE : EVENT_KIND_WRITE_OTHER, text);
        Py_DECREF(text);
    }
    PyErr_SetRaisedException(exc);
}

int
io_capture_start(void)
{
    recorder.stdin_file = Py_XNewRef(PySys_GetObject("stdin"));
    recorder.stdout_file = Py_XNewRef(PySys_GetObject("stdout"));
    recorder.stderr_file = Py_XNewRef(PySys_GetObject("stderr"));
    _PyIO_TextWriteHook = on_text_write;
    _PyIO_TextReadHook = on_text_read;
    _PyOS_WriteHook = on_fd_write;
    return 0;
}

void
io_capture_stop(void)
{
    _PyIO_TextWriteHook = NULL;
    _PyIO_TextReadHook = NULL;
    _PyOS_WriteHook = NULL;
    Py_CLEAR(recorder.stdin_file);
    Py_CLEAR(recorder.stdout_file);
    Py_CLEAR(recorder.stderr_file);
}
