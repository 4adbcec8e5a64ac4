/* python-ct's recorder: starting and finishing a recording, and the
 * _ctrecord built-in module.
 *
 * `python-ct` runs `python3.13 -X ctrace`; the interpreter calls
 * _PyCtRecord_StartFromConfig() just before the main program runs and
 * _PyCtRecord_Finish() when it is done.  Options come from the environment:
 *   CODETRACER_DB_TRACE_PATH      trace folder (default ./trace-out)
 *   CODETRACER_RECORD=0           run without recording
 *   CODETRACER_ASSIGNMENTS=0      no assignment records
 *   CODETRACER_SUBEXPRESSIONS=0   no subexpression values
 *   CODETRACER_FORMAT=ctfs        write trace.ct instead of trace.json
 *   CODETRACER_VALUE_NODES=N      values shown within one variable's value */

#include "recorder.h"
#include "code_info.h"
#include "source_segments.h"
#include "value_encoder.h"

#include "pycore_ctrecord.h"      // _PyCtRecord_StartFromConfig()
#include "pycore_runtime.h"       // _PyRuntime

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDER_VERSION "0.1.0"

Recorder recorder;


static int
xoption_requested(const PyConfig *config)
{
    for (Py_ssize_t i = 0; i < config->xoptions.length; i++) {
        const wchar_t *opt = config->xoptions.items[i];
        if (wcscmp(opt, L"ctrace") == 0) {
            return 1;
        }
    }
    return 0;
}

/* 1 to record, 0 not to, -1 for a value that is neither. */
static int
recording_wanted(const char *value)
{
    if (value == NULL || *value == '\0') {
        return 1;
    }
    static const char *const on[] = {"1", "true", "yes", "on"};
    static const char *const off[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, on[i]) == 0) {
            return 1;
        }
        if (strcasecmp(value, off[i]) == 0) {
            return 0;
        }
    }
    return -1;
}

static int
make_folders(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            int err = mkdir(path, 0755) < 0 && errno != EEXIST;
            *p = '/';
            if (err) {
                return -1;
            }
        }
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int
resolve_folder(char *out, size_t size)
{
    const char *folder = getenv("CODETRACER_DB_TRACE_PATH");
    if (folder == NULL || *folder == '\0') {
        folder = "trace-out";
    }
    if (folder[0] == '/') {
        snprintf(out, size, "%s", folder);
        return 0;
    }
    char cwd[2048];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return -1;
    }
    snprintf(out, size, "%s/%s", cwd, folder);
    return 0;
}

static PyObject *
wide_to_str(const wchar_t *s)
{
    return s ? PyUnicode_FromWideChar(s, -1) : Py_NewRef(Py_None);
}

/* -c code has no file; saved into the trace folder, CodeTracer can show
   it.  Returns the file's path, or "<string>" if it cannot be saved. */
static PyObject *
save_command(const wchar_t *command)
{
    PyObject *text = PyUnicode_FromWideChar(command, -1);
    if (text == NULL) {
        return NULL;
    }
    JsonBuffer content = {0};
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (utf8 == NULL) {
        PyErr_Clear();
        Py_DECREF(text);
        return PyUnicode_FromString("<string>");
    }
    jb_put(&content, utf8, (size_t)size);
    Py_DECREF(text);
    int saved = write_file_atomically(recorder.folder, "command.py", &content) == 0;
    jb_free(&content);
    if (!saved) {
        return PyUnicode_FromString("<string>");
    }
    recorder.command_file = PyUnicode_FromFormat("%s/command.py", recorder.folder);
    return Py_XNewRef(recorder.command_file);
}

static int
init_program_description(const PyConfig *config)
{
    PyObject *argv = PySys_GetObject("argv");
    recorder.args = argv && PyList_Check(argv) && PyList_GET_SIZE(argv) > 0
        ? PyList_GetSlice(argv, 1, PyList_GET_SIZE(argv)) : PyList_New(0);
    if (config->run_filename != NULL) {
        PyObject *filename = wide_to_str(config->run_filename);
        if (filename == NULL) {
            return -1;
        }
        PyObject *cwd_relative = PyUnicode_FromFormat("%U/%U", recorder.workdir, filename);
        int absolute = PyUnicode_READ_CHAR(filename, 0) == '/';
        recorder.program = absolute ? Py_NewRef(filename) : Py_XNewRef(cwd_relative);
        Py_DECREF(filename);
        Py_XDECREF(cwd_relative);
        recorder.fallback_path = Py_XNewRef(recorder.program);
    }
    else if (config->run_command != NULL) {
        recorder.program = PyUnicode_FromString("-c");
        recorder.fallback_path = save_command(config->run_command);
    }
    else if (config->run_module != NULL) {
        recorder.program = wide_to_str(config->run_module);
        recorder.fallback_path = Py_NewRef(recorder.workdir);
    }
    else {
        recorder.program = PyUnicode_FromString("-");
        recorder.fallback_path = PyUnicode_FromString("<stdin>");
    }
    return recorder.args && recorder.program && recorder.fallback_path ? 0 : -1;
}

static int
configure_user_code(const PyConfig *config)
{
    PyObject *stdlib_dir = wide_to_str(config->stdlib_dir);
    PyObject *prefix = wide_to_str(config->base_prefix);
    PyObject *pseudo = NULL;
    if (config->run_command != NULL) {
        pseudo = PyUnicode_FromString("<string>");
    }
    else if (config->run_filename == NULL && config->run_module == NULL) {
        pseudo = PyUnicode_FromString("<stdin>");
    }
    int res = stdlib_dir && prefix && PyUnicode_Check(stdlib_dir) && PyUnicode_Check(prefix)
        ? code_info_configure(stdlib_dir, prefix, pseudo) : -1;
    Py_XDECREF(stdlib_dir);
    Py_XDECREF(prefix);
    Py_XDECREF(pseudo);
    return res;
}

static void
put_json_key(JsonBuffer *b, const char *key)
{
    jb_utf8_string(b, key, strlen(key));
    jb_putc(b, ':');
}

/* `{"index":N,"ident":M`, for the object that describes a thread. */
static void
put_thread_identity(JsonBuffer *b, ThreadRecording *tr)
{
    JB_LITERAL(b, "{\"index\":");
    jb_int(b, tr->index);
    JB_LITERAL(b, ",\"ident\":");
    jb_int(b, (long long)tr->ident);
}

static int
write_metadata(ThreadRecording *tr, int finished)
{
    JsonBuffer b = {0};
    JB_LITERAL(&b, "{");
    put_json_key(&b, "workdir");
    jb_unicode_string(&b, recorder.workdir, PY_SSIZE_T_MAX);
    JB_LITERAL(&b, ",");
    put_json_key(&b, "program");
    jb_unicode_string(&b, recorder.program, PY_SSIZE_T_MAX);
    JB_LITERAL(&b, ",");
    put_json_key(&b, "args");
    jb_putc(&b, '[');
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(recorder.args); i++) {
        PyObject *arg = PyList_GET_ITEM(recorder.args, i);
        if (i) {
            jb_putc(&b, ',');
        }
        if (PyUnicode_Check(arg)) {
            jb_unicode_string(&b, arg, PY_SSIZE_T_MAX);
        }
        else {
            JB_LITERAL(&b, "\"\"");
        }
    }
    JB_LITERAL(&b, "],");
    put_json_key(&b, "recorder");
    JB_LITERAL(&b, "{\"name\":\"python-ct\",\"version\":\"" RECORDER_VERSION "\"}");
    if (finished && tr->index == 0) {
        JB_LITERAL(&b, ",");
        put_json_key(&b, "exit_status");
        JB_LITERAL(&b, "{\"code\":");
        jb_int(&b, recorder.exit_status);
        JB_LITERAL(&b, "}");
    }
    JB_LITERAL(&b, ",");
    put_json_key(&b, "thread");
    put_thread_identity(&b, tr);
    JB_LITERAL(&b, "}");
    if (finished && tr->index == 0 && recorder.nthreads > 1) {
        /* Where the other threads' traces are. */
        JB_LITERAL(&b, ",");
        put_json_key(&b, "threads");
        jb_putc(&b, '[');
        for (int i = 1; i < recorder.nthreads; i++) {
            ThreadRecording *other = recorder.threads[i];
            if (i > 1) {
                jb_putc(&b, ',');
            }
            put_thread_identity(&b, other);
            JB_LITERAL(&b, ",\"folder\":\"threads/");
            jb_int(&b, other->index);
            JB_LITERAL(&b, "\"}");
        }
        jb_putc(&b, ']');
    }
    JB_LITERAL(&b, "}\n");
    int res = write_file_atomically(tr->folder, "trace_metadata.json", &b);
    jb_free(&b);
    return res;
}

static int
write_paths(ThreadRecording *tr, PyObject *paths)
{
    JsonBuffer b = {0};
    jb_putc(&b, '[');
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(paths); i++) {
        if (i) {
            jb_putc(&b, ',');
        }
        jb_unicode_string(&b, PyList_GET_ITEM(paths, i), PY_SSIZE_T_MAX);
    }
    JB_LITERAL(&b, "]\n");
    int res = write_file_atomically(tr->folder, "trace_paths.json", &b);
    jb_free(&b);
    return res;
}

int
recorder_write_metadata(ThreadRecording *tr, PyObject *paths)
{
    return write_paths(tr, paths) < 0 || write_metadata(tr, 1) < 0 ? -1 : 0;
}

void
recorder_write_header(ThreadRecording *tr, PyObject *path)
{
    if (tr->header_written) {
        return;
    }
    tr->header_written = 1;
    TraceWriter *w = &tr->writer;
    Py_ssize_t path_id = tw_path_id(w, path);
    PyObject *name = PyUnicode_FromString("<toplevel>");
    if (name != NULL) {
        tw_function_id(w, path_id, 1, name);
        Py_DECREF(name);
    }
    tw_call(w, 0, 0, NULL, NULL, NULL);
    tw_builtin_type_id(w, BUILTIN_NONE);
    PyErr_Clear();
}

/* A forked child must not write into its parent's trace. */
static PyObject *
stop_in_child(PyObject *module, PyObject *unused)
{
    if (recorder.active) {
        recorder.active = 0;
        termination_signals_remove();
        io_capture_stop();
        hooks_remove();
        thread_recordings_abandon();
    }
    Py_RETURN_NONE;
}

static PyMethodDef stop_in_child_def = {
    "_stop_in_child", stop_in_child, METH_NOARGS, NULL
};

/* The recorder's threads are stopped before a fork (the trace writer's
   with its queue written): a fork in a multi-threaded process makes
   os.fork() warn, which the program would not do unrecorded.  The writer
   starts again when next needed, the other soon after the fork. */
static PyObject *
stop_threads_before_fork(PyObject *module, PyObject *unused)
{
    output_streams_shutdown();
    termination_signals_stop_thread();
    Py_RETURN_NONE;
}

static PyMethodDef stop_threads_before_fork_def = {
    "_stop_threads_before_fork", stop_threads_before_fork, METH_NOARGS, NULL
};

static PyObject *
restart_threads_in_parent(PyObject *module, PyObject *unused)
{
    termination_signals_restart_thread();
    Py_RETURN_NONE;
}

static PyMethodDef restart_threads_in_parent_def = {
    "_restart_threads_in_parent", restart_threads_in_parent, METH_NOARGS, NULL
};

static int
register_fork_handler(void)
{
    /* posix, not os: it is loaded at start-up even with -S. */
    PyObject *posix = PyImport_ImportModule("posix");
    if (posix == NULL) {
        return -1;
    }
    PyObject *func = PyCFunction_New(&stop_in_child_def, NULL);
    PyObject *before = PyCFunction_New(&stop_threads_before_fork_def, NULL);
    PyObject *after = PyCFunction_New(&restart_threads_in_parent_def, NULL);
    PyObject *register_at_fork = func ? PyObject_GetAttrString(posix, "register_at_fork") : NULL;
    PyObject *args = PyTuple_New(0);
    PyObject *kwargs = func && before && after
        ? Py_BuildValue("{sOsOsO}", "after_in_child", func, "before", before,
                        "after_in_parent", after)
        : NULL;
    PyObject *res = register_at_fork && args && kwargs
        ? PyObject_Call(register_at_fork, args, kwargs) : NULL;
    Py_XDECREF(res);
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_XDECREF(register_at_fork);
    Py_XDECREF(after);
    Py_XDECREF(before);
    Py_XDECREF(func);
    Py_DECREF(posix);
    return res ? 0 : -1;
}

static void
report_start_failure(const char *what)
{
    fprintf(stderr, "python-ct: %s %s: %s\n", what, recorder.folder, strerror(errno));
}

/* Read a 0/1 switch from the environment into *value (default 1). */
static int
read_switch(const char *name, int *value)
{
    const char *text = getenv(name);
    *value = recording_wanted(text);
    if (*value < 0) {
        fprintf(stderr, "python-ct: %s must be 0 or 1, not '%s'\n", name, text);
        return -1;
    }
    return 0;
}

/* Read CODETRACER_FORMAT (json, the default, or ctfs). */
static int
read_format(TraceFormat *format)
{
    const char *text = getenv("CODETRACER_FORMAT");
    if (text == NULL || *text == '\0' || strcasecmp(text, "json") == 0) {
        *format = TRACE_FORMAT_JSON;
    }
    else if (strcasecmp(text, "ctfs") == 0) {
        *format = TRACE_FORMAT_CTFS;
    }
    else {
        fprintf(stderr, "python-ct: CODETRACER_FORMAT must be json or ctfs, not '%s'\n", text);
        return -1;
    }
    return 0;
}

/* Read CODETRACER_VALUE_NODES into the value encoder. */
static int
read_value_nodes(void)
{
    const char *text = getenv("CODETRACER_VALUE_NODES");
    if (text == NULL || *text == '\0') {
        return 0;
    }
    char *end;
    errno = 0;
    long long nodes = strtoll(text, &end, 10);
    if (*end != '\0' || errno != 0 || nodes < 1 || nodes > VALUE_MAX_NODES) {
        fprintf(stderr, "python-ct: CODETRACER_VALUE_NODES must be a whole number "
                "from 1 to %d, not '%s'\n", VALUE_MAX_NODES, text);
        return -1;
    }
    value_encoder_set_node_limit((Py_ssize_t)nodes);
    return 0;
}

int
_PyCtRecord_StartFromConfig(const PyConfig *config)
{
    if (!xoption_requested(config)) {
        return 0;
    }
    int wanted;
    if (read_switch("CODETRACER_RECORD", &wanted) < 0 ||
        read_switch("CODETRACER_ASSIGNMENTS", &recorder.record_assignments) < 0 ||
        read_switch("CODETRACER_SUBEXPRESSIONS", &recorder.record_subexpressions) < 0 ||
        read_format(&recorder.format) < 0 || read_value_nodes() < 0)
    {
        return -1;
    }
    if (!wanted) {
        return 0;
    }
    if (resolve_folder(recorder.folder, sizeof(recorder.folder)) < 0) {
        report_start_failure("cannot resolve the trace folder");
        return -1;
    }
    if (make_folders(recorder.folder) < 0) {
        report_start_failure("cannot create the trace folder");
        return -1;
    }
    thread_recordings_remove_stale(recorder.folder);
    ThreadRecording *main_thread = thread_recording_create(PyThreadState_Get(), recorder.folder);
    if (main_thread == NULL) {
        report_start_failure("cannot write the trace into");
        thread_recordings_abandon();
        return -1;
    }
    char cwd[2048];
    recorder.workdir = PyUnicode_DecodeFSDefault(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
    if (recorder.workdir == NULL || init_program_description(config) < 0 ||
        configure_user_code(config) < 0 || write_metadata(main_thread, 0) < 0 ||
        hooks_install() < 0 || io_capture_start() < 0 || register_fork_handler() < 0 ||
        fatal_signals_install() < 0 || termination_signals_install() < 0)
    {
        PyErr_Clear();
        fprintf(stderr, "python-ct: cannot start recording into %s\n", recorder.folder);
        fatal_signals_remove();
        termination_signals_remove();
        hooks_remove();
        thread_recordings_abandon();
        return -1;
    }
    recorder.exit_status = 0;
    recorder.fatal_signal = 0;
    recorder.active = 1;
    return 0;
}

void
_PyCtRecord_SetExitStatus(int exit_status)
{
    recorder.exit_status = exit_status;
}

/* The uncaught exception the interpreter printed, if any. */
static void
record_uncaught_exception(ThreadRecording *tr)
{
    PyObject *exc = PySys_GetObject("last_exc");
    if (exc == NULL || !PyExceptionInstance_Check(exc)) {
        return;
    }
    JsonBuffer text = {.plain = 1};
    describe_exception(&text, exc);
    if (!text.failed) {
        tw_event(&tr->writer, EVENT_KIND_ERROR, "", text.data, text.len);
    }
    jb_free(&text);
    record_exception(tr, tr->writer.steps - 1, "uncaught", -1, exc);
}

void
recorder_note_fatal_signal(int signum, const char *how, uint64_t thread_id)
{
    fprintf(stderr, "python-ct: the program was %s by signal %d (%s); "
            "finishing the trace recorded up to there\n", how, signum, strsignal(signum));
    recorder.fatal_signal = signum;
    recorder.fatal_signal_thread = thread_id;
    recorder.exit_status = 128 + signum;
}

/* The signal the program died of, as an error on the last step of the
   thread it is recorded on. */
static void
record_fatal_signal(ThreadRecording *tr)
{
    char text[128];
    int len = snprintf(text, sizeof(text), "killed by signal %d (%s)",
                       recorder.fatal_signal, strsignal(recorder.fatal_signal));
    tw_event(&tr->writer, EVENT_KIND_ERROR, "", text, (size_t)len);
}

/* The end of each thread's trace: the Calls still open are closed, the
   main thread's outermost one with the exit status. */
static void
end_thread_traces(void)
{
    for (int i = 0; i < recorder.nthreads; i++) {
        ThreadRecording *tr = recorder.threads[i];
        if (tr->failed) {
            continue;
        }
        TraceWriter *w = &tr->writer;
        recorder_write_header(tr, recorder.fallback_path);
        if (w->steps == 0) {
            /* CodeTracer needs a step to attach the end of the program to. */
            tw_step(w, 0, 1);
        }
        thread_recording_close_open_calls(tr);
        if (tr->index == 0 && recorder.exit_status != 0 && !recorder.fatal_signal) {
            record_uncaught_exception(tr);
        }
        if (recorder.fatal_signal && tr->thread_id == recorder.fatal_signal_thread) {
            record_fatal_signal(tr);
        }
        JsonBuffer *scratch = &tr->scratch;
        scratch->len = 0;
        PyObject *result = tr->index == 0 ? PyLong_FromLong(recorder.exit_status)
                                          : Py_NewRef(Py_None);
        encode_value(w, scratch, result != NULL ? result : Py_None);
        Py_XDECREF(result);
        PyErr_Clear();
        tw_return(w, scratch->data, scratch->len);
    }
}

static void
print_summary(int write_failed)
{
    long long steps = 0, calls = 0, bytes = 0;
    int threads = 0;
    for (int i = 0; i < recorder.nthreads; i++) {
        ThreadRecording *tr = recorder.threads[i];
        if (!tr->failed) {
            threads++;
            steps += tr->writer.steps;
            calls += tr->writer.calls - 1;
            bytes += tr->writer.stream.bytes_written + tr->ext.stream.bytes_written;
        }
    }
    if (write_failed) {
        return;         /* the failure was reported */
    }
    double size = (double)bytes;
    const char *unit = size >= 1e6 ? "MB" : "kB";
    size /= size >= 1e6 ? 1e6 : 1e3;
    fprintf(stderr, "python-ct: trace in %s (%lld steps, %lld calls, ",
            recorder.folder, steps, calls);
    if (threads > 1) {
        fprintf(stderr, "%d threads, ", threads);
    }
    fprintf(stderr, "%.1f %s)\n", size, unit);
}

void
_PyCtRecord_Finish(void)
{
    if (!recorder.active) {
        return;
    }
    recorder.active = 0;
    fatal_signals_remove();
    io_capture_stop();
    hooks_remove();
    if (_PyRuntime.signals.unhandled_keyboard_interrupt) {
        recorder.exit_status = 128 + SIGINT;
    }
    termination_signals_remove();
    int terminated = termination_signal_received();
    if (terminated && !recorder.fatal_signal) {
        recorder_note_fatal_signal(terminated, "terminated",
                                   recorder.nthreads > 0 ? recorder.threads[0]->thread_id : 0);
    }
    end_thread_traces();
    int failed = thread_recordings_close() < 0;
    output_streams_shutdown();
    print_summary(failed);
    thread_recordings_free();
    code_info_clear_configuration();
    source_segments_clear();
    Py_CLEAR(recorder.fallback_path);
    Py_CLEAR(recorder.workdir);
    Py_CLEAR(recorder.command_file);
    Py_CLEAR(recorder.program);
    Py_CLEAR(recorder.args);
    PyErr_Clear();
    if (terminated && recorder.fatal_signal == terminated) {
        /* Not after a crash: the crash handler raises its own signal. */
        termination_signal_deliver();
    }
}

static PyObject *
ctrecord_recording(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(recorder.active);
}

static PyObject *
ctrecord_trace_folder(PyObject *module, PyObject *unused)
{
    if (!recorder.active) {
        Py_RETURN_NONE;
    }
    return PyUnicode_DecodeFSDefault(recorder.folder);
}

static PyMethodDef ctrecord_methods[] = {
    {"recording", ctrecord_recording, METH_NOARGS,
     "recording()\n--\n\nWhether this process is being recorded."},
    {"trace_folder", ctrecord_trace_folder, METH_NOARGS,
     "trace_folder()\n--\n\nThe folder the trace is written to, or None."},
    {NULL, NULL, 0, NULL}
};

static PyModuleDef_Slot ctrecord_slots[] = {
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
    {0, NULL}
};

static struct PyModuleDef ctrecord_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_ctrecord",
    .m_doc = "python-ct's execution recorder.",
    .m_size = 0,
    .m_methods = ctrecord_methods,
    .m_slots = ctrecord_slots,
};

PyMODINIT_FUNC
PyInit__ctrecord(void)
{
    return PyModuleDef_Init(&ctrecord_module);
}
