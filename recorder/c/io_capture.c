/* Recording of what the program writes to sys.stdout and sys.stderr.
 *
 * The text is taken at io.TextIOWrapper.write(), before buffering, so each
 * write lands on the step that made it.  Only the two wrappers that were
 * sys.stdout and sys.stderr when recording started are watched. */

#include "recorder.h"
#include "pycore_ctrecord.h"      // _PyIO_TextWriteHook

static void
on_text_write(PyObject *file, PyObject *text)
{
    if (!recorder.active) {
        return;
    }
    int kind;
    if (file == recorder.stdout_file) {
        kind = EVENT_KIND_WRITE;
    }
    else if (file == recorder.stderr_file) {
        kind = EVENT_KIND_WRITE_OTHER;
    }
    else {
        return;
    }
    recorder_write_header(recorder.fallback_path);
    tw_io(&recorder.writer, kind, text);
}

int
io_capture_start(void)
{
    recorder.stdout_file = Py_XNewRef(PySys_GetObject("stdout"));
    recorder.stderr_file = Py_XNewRef(PySys_GetObject("stderr"));
    _PyIO_TextWriteHook = on_text_write;
    return 0;
}

void
io_capture_stop(void)
{
    _PyIO_TextWriteHook = NULL;
    Py_CLEAR(recorder.stdout_file);
    Py_CLEAR(recorder.stderr_file);
}
