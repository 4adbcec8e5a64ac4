/* The recorder's sys.monitoring callbacks, called directly from the
 * interpreter as C functions (see the 0001 patch).
 *
 * PY_START is watched globally: the first time a code object starts, it is
 * classified; library code gets DISABLE (its RESUME goes back to the plain
 * opcode, so it runs at full speed), user code gets the local events for
 * lines, returns and generator resumes.  PY_UNWIND and PY_THROW can only be
 * watched globally, so their callbacks check the code object first. */

#include "recorder.h"
#include "code_info.h"
#include "code_sites.h"
#include "frame_reader.h"
#include "quiet_lines.h"
#include "value_encoder.h"

#include "pycore_instruments.h"   // _PyMonitoring_SetCCallback()
#include "pycore_interp.h"        // PyInterpreterState.monitoring_tool_names
#include "pycore_runtime.h"       // _Py_ID()

#define EVENT_BIT(name) (1 << PY_MONITORING_EVENT_##name)
#define GLOBAL_EVENTS (EVENT_BIT(PY_START) | EVENT_BIT(PY_UNWIND) | EVENT_BIT(PY_THROW) | \
                       EVENT_BIT(RAISE) | EVENT_BIT(RERAISE) | EVENT_BIT(EXCEPTION_HANDLED))
#define LOCAL_EVENTS (EVENT_BIT(PY_RESUME) | EVENT_BIT(PY_RETURN) | \
                      EVENT_BIT(PY_YIELD) | EVENT_BIT(LINE))

enum { CONTINUE = 0, DISABLE = 1 };

PyObject *
code_absolute_path(PyCodeObject *code)
{
    PyObject *filename = code->co_filename;
    if (recorder.command_file != NULL &&
        PyUnicode_EqualToUTF8(filename, "<string>"))
    {
        return Py_NewRef(recorder.command_file);
    }
    if (PyUnicode_GET_LENGTH(filename) > 0) {
        Py_UCS4 first = PyUnicode_READ_CHAR(filename, 0);
        if (first == '/' || first == '<') {
            /* An exact str: a subclass's __hash__ must not run. */
            return PyUnicode_FromObject(filename);
        }
    }
    return PyUnicode_FromFormat("%U/%U", recorder.workdir, filename);
}

Py_ssize_t
code_path_id(ThreadRecording *tr, CodeInfo *info, PyCodeObject *code)
{
    code_info_sync(info, tr->serial);
    if (info->path_id < 0) {
        PyObject *path = code_absolute_path(code);
        if (path == NULL) {
            return -1;
        }
        recorder_write_header(tr, path);
        info->path_id = tw_path_id(&tr->writer, path);
        Py_DECREF(path);
    }
    return info->path_id;
}

/* Module code is named after its module, "<__main__>", as the upstream
   recorder does; other code by its qualified name. */
static PyObject *
function_name(_PyInterpreterFrame *frame, PyCodeObject *code)
{
    if (frame->f_locals == frame->f_globals && PyDict_CheckExact(frame->f_globals)) {
        PyObject *name = PyDict_GetItemWithError(frame->f_globals, &_Py_ID(__name__));
        if (name != NULL && PyUnicode_Check(name)) {
            return PyUnicode_FromFormat("<%U>", name);
        }
        PyErr_Clear();
    }
    return Py_NewRef(code->co_qualname);
}

Py_ssize_t
code_function_id(ThreadRecording *tr, CodeInfo *info, _PyInterpreterFrame *frame)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    Py_ssize_t path_id = code_path_id(tr, info, code);
    if (path_id < 0) {
        return -1;
    }
    if (info->function_id < 0) {
        PyObject *name = function_name(frame, code);
        if (name == NULL) {
            return -1;
        }
        info->function_id = tw_function_id(&tr->writer, path_id,
                                           code->co_firstlineno, name);
        Py_DECREF(name);
    }
    return info->function_id;
}

/* The variable ids of a code object's slots, interned when first needed
   (VARNAME_NOT_INTERNED until then; VARNAME_NOT_SHOWN for compiler-internal
   names, which steps skip).  NULL if memory ran out. */
static Py_ssize_t *
slot_varname_ids(CodeInfo *info, PyCodeObject *code)
{
    if (info->varname_ids == NULL) {
        info->varname_ids = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)code->co_nlocalsplus);
        if (info->varname_ids == NULL) {
            return NULL;
        }
        for (int j = 0; j < code->co_nlocalsplus; j++) {
            info->varname_ids[j] = slot_is_shown(code, j) ? VARNAME_NOT_INTERNED
                                                          : VARNAME_NOT_SHOWN;
        }
    }
    return info->varname_ids;
}

static Py_ssize_t
slot_varname_id(ThreadRecording *tr, CodeInfo *info, PyCodeObject *code, int i)
{
    Py_ssize_t *ids = slot_varname_ids(info, code);
    if (ids == NULL) {
        return -1;
    }
    if (ids[i] >= 0) {
        return ids[i];
    }
    /* A parameter not shown at steps (".0") is still a call's argument. */
    Py_ssize_t id = tw_varname_id(&tr->writer, PyTuple_GET_ITEM(code->co_localsplusnames, i));
    if (ids[i] == VARNAME_NOT_INTERNED) {
        ids[i] = id;
    }
    return id;
}

/* The CodeInfo of a frame's code if that code is recorded, else NULL. */
static CodeInfo *
recorded_info(_PyInterpreterFrame *frame)
{
    CodeInfo *info = code_info_get(_PyFrame_GetCode(frame));
    if (info == NULL) {
        PyErr_Clear();
        return NULL;
    }
    return info->recorded ? info : NULL;
}

static int
reserve_call_space(ThreadRecording *tr, int nparams)
{
    if (tr->depth >= tr->open_frames_capacity) {
        Py_ssize_t capacity = tr->open_frames_capacity * 2 + 64;
        OpenFrame *frames = PyMem_Realloc(tr->open_frames, sizeof(*frames) * (size_t)capacity);
        if (frames == NULL) {
            return 0;
        }
        memset(frames + tr->open_frames_capacity, 0,
               sizeof(*frames) * (size_t)(capacity - tr->open_frames_capacity));
        tr->open_frames = frames;
        tr->open_frames_capacity = capacity;
    }
    if (nparams + 1 > tr->arg_capacity) {
        int capacity = nparams + 16;
        Py_ssize_t *ids = PyMem_Realloc(tr->arg_ids, sizeof(Py_ssize_t) * (size_t)capacity);
        if (ids == NULL) {
            return 0;
        }
        tr->arg_ids = ids;
        size_t *offsets = PyMem_Realloc(tr->arg_offsets, sizeof(size_t) * (size_t)capacity);
        if (offsets == NULL) {
            return 0;
        }
        tr->arg_offsets = offsets;
        tr->arg_capacity = capacity;
    }
    return 1;
}

/* Entry into a frame, following CodeTracer's protocol: the argument
   values, a step on the definition line, then the Call with the args.
   A resumed generator shows its parameters' current values again. */
static void
record_entry(ThreadRecording *tr, _PyInterpreterFrame *frame, CodeInfo *info)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    TraceWriter *w = &tr->writer;
    JsonBuffer *values = &tr->scratch;
    Py_ssize_t path_id = code_path_id(tr, info, code);
    Py_ssize_t function_id = code_function_id(tr, info, frame);
    int nparams = frame_parameter_count(code);
    if (function_id < 0 || !reserve_call_space(tr, nparams)) {
        PyErr_Clear();
        return;
    }
    Py_ssize_t *ids = tr->arg_ids;
    size_t *offsets = tr->arg_offsets;
    values->len = 0;
    offsets[0] = 0;
    int nargs = 0;
    encode_group_begin(w, 0);
    for (int i = 0; i < nparams; i++) {
        PyObject *value = frame_slot_value(frame, i);
        if (value == NULL) {
            continue;
        }
        ids[nargs] = slot_varname_id(tr, info, code, i);
        encode_value(w, values, value);
        offsets[++nargs] = values->len;
    }
    encode_group_end(w);
    for (int i = 0; i < nargs; i++) {
        tw_value(w, ids[i], values->data + offsets[i], offsets[i + 1] - offsets[i]);
    }
    tw_step(w, path_id, code->co_firstlineno);
    tw_call(w, function_id, nargs, ids, values->data, offsets);
    OpenFrame *of = &tr->open_frames[tr->depth];
    *of = (OpenFrame){.frame = frame, .info = info, .step = w->steps - 1,
                      .previous_step = w->steps - 1, .line_unit = -1, .quiet_until = -1,
                      .kept = of->kept};
    tr->depth++;
    PyErr_Clear();
}

/* A variable's Value at a step, encoded into the trace's buffer `out`,
   and kept in `kept` if not NULL. */
static void
record_variable(TraceWriter *w, JsonBuffer *out, Py_ssize_t varname_id, PyObject *value,
                KeptValueEvent *kept)
{
    /* Merged I/O text would go out first, within the event's bytes. */
    if (w->pending_io_kind >= 0) {
        kept = NULL;
    }
    tw_value_begin(w, varname_id);
    encode_value(w, out, value);
    tw_value_finish(w);
    if (kept != NULL) {
        kept_event_take(w, kept, value);
    }
    tw_value_done(w);
}

/* A step for the line starting at code unit `unit`; `of` is the frame's
   entry in the open frames, or NULL. */
static void
record_step(ThreadRecording *tr, OpenFrame *of, _PyInterpreterFrame *frame, CodeInfo *info,
            int unit, int line)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    TraceWriter *w = &tr->writer;
    long long events_before = w->events;
    tw_step(w, code_path_id(tr, info, code), line);
    KeptValueEvent *kept = NULL;
    if (of != NULL) {
        of->previous_step = of->step;
        of->step = w->steps - 1;
        of->line_unit = unit;
        if (++of->line_steps >= 3) {
            if (of->kept.count != code->co_nlocalsplus) {
                kept_events_reset(&of->kept, code->co_nlocalsplus);
            }
            kept = of->kept.count > 0 ? of->kept.locals : NULL;
        }
    }
    /* The variables share a group: a container several of them show (a
       loop's item and its list, say) is checked for changes once. */
    JsonBuffer *out = tw_value_buffer(w);
    /* No event since the frame's step on a quiet line: nothing ran. */
    encode_group_begin(w, of != NULL && of->quiet_until == events_before);
    PyObject *ns = frame_namespace(frame);
    if (ns != NULL) {
        Py_ssize_t pos = 0;
        PyObject *name, *value;
        while (PyDict_Next(ns, &pos, &name, &value)) {
            if (namespace_entry_is_shown(name, value)) {
                record_variable(w, out, tw_varname_id(w, name), value, NULL);
            }
        }
    }
    else {
        Py_ssize_t *ids = slot_varname_ids(info, code);
        for (int i = 0; ids != NULL && i < code->co_nlocalsplus; i++) {
            PyObject *value;
            if (ids[i] == VARNAME_NOT_SHOWN || (value = frame_slot_value(frame, i)) == NULL ||
                (kept != NULL && kept_event_put(w, &kept[i], value)))
            {
                continue;
            }
            Py_ssize_t id = ids[i] >= 0 ? ids[i] : slot_varname_id(tr, info, code, i);
            record_variable(w, out, id, value, kept != NULL ? &kept[i] : NULL);
        }
    }
    encode_group_end(w);
    if (of != NULL) {
        /* Worth a check only if the values hold a container. */
        of->quiet_until = w->group_met_container && quiet_line(info, frame, unit) ? w->events
                                                                                  : -1;
    }
    PyErr_Clear();
}

static void
record_exit(ThreadRecording *tr, _PyInterpreterFrame *frame, PyObject *value)
{
    /* An exit without an entry: e.g. Ctrl-C raised at the frame's RESUME,
       before PY_START fired. */
    if (tr->depth <= 0 || tr->open_frames[tr->depth - 1].frame != frame) {
        return;
    }
    JsonBuffer *scratch = &tr->scratch;
    scratch->len = 0;
    encode_value(&tr->writer, scratch, value);
    tw_return(&tr->writer, scratch->data, scratch->len);
    tr->depth--;
    kept_events_release(&tr->open_frames[tr->depth].kept);
}

static int
probes_wanted(void)
{
    return recorder.record_assignments || recorder.record_subexpressions;
}

static int
on_py_start(PyThreadState *tstate, _PyInterpreterFrame *frame,
            _Py_CODEUNIT *instr, int event, PyObject *arg)
{
    PyCodeObject *code = _PyFrame_GetCode(frame);
    CodeInfo *info = code_info_get(code);
    if (info == NULL) {
        PyErr_Clear();
        return CONTINUE;
    }
    if (!info->recorded || !recorder.active) {
        return DISABLE;
    }
    if (!info->local_events_set) {
        int events = LOCAL_EVENTS;
        if (probes_wanted()) {
            if (code_sites_analyse(code, info, recorder.record_assignments,
                                   recorder.record_subexpressions) == 0)
            {
                events |= EVENT_BIT(INSTRUCTION);
            }
        }
        if (_PyMonitoring_SetLocalEvents(code, RECORDER_TOOL_ID, events) < 0) {
            PyErr_Clear();
        }
        info->local_events_set = 1;
    }
    ThreadRecording *tr = thread_recording_of(tstate);
    if (tr != NULL) {
        record_entry(tr, frame, info);
    }
    return CONTINUE;
}

/* After the recording, the local events still set on recorded code are
   switched off where they fire; the global ones are gone already. */
static int
when_inactive(int event)
{
    return PY_MONITORING_IS_INSTRUMENTED_EVENT(event) ? DISABLE : CONTINUE;
}

/* A generator or coroutine resumed, by next()/send() or by throw(). */
static int
on_resume(PyThreadState *tstate, _PyInterpreterFrame *frame,
          _Py_CODEUNIT *instr, int event, PyObject *arg)
{
    if (!recorder.active) {
        return when_inactive(event);
    }
    CodeInfo *info = recorded_info(frame);
    ThreadRecording *tr = info ? thread_recording_of(tstate) : NULL;
    if (tr != NULL) {
        record_entry(tr, frame, info);
        if (event == PY_MONITORING_EVENT_PY_THROW) {
            record_exception(tr, current_step(tr, frame), "throw",
                             code_function_id(tr, info, frame), arg);
            tr->thrown = arg;
            tr->thrown_into = frame;
        }
    }
    return CONTINUE;
}

/* Return, yield or unwinding by an exception: `arg` is the value or the
   exception. */
static int
on_frame_exit(PyThreadState *tstate, _PyInterpreterFrame *frame,
        _Py_CODEUNIT *instr, int event, PyObject *arg)
{
    if (!recorder.active) {
        return when_inactive(event);
    }
    CodeInfo *info = recorded_info(frame);
    ThreadRecording *tr = info ? thread_recording_of(tstate) : NULL;
    if (tr == NULL) {
        return CONTINUE;
    }
    if (event == PY_MONITORING_EVENT_PY_UNWIND) {
        record_exception(tr, current_step(tr, frame), "unwind",
                         code_function_id(tr, info, frame), arg);
        /* The caller, past the C code (a next(), a sort key call) that
           called this frame, if any. */
        _PyInterpreterFrame *caller = frame->previous;
        while (caller != NULL && caller->owner == FRAME_OWNED_BY_CSTACK) {
            caller = caller->previous;
        }
        tr->unwinding = arg;
        tr->unwinding_into = caller;
    }
    record_exit(tr, frame, arg);
    return CONTINUE;
}

static int
on_line(PyThreadState *tstate, _PyInterpreterFrame *frame,
        _Py_CODEUNIT *instr, int event, PyObject *arg)
{
    if (!recorder.active) {
        return DISABLE;
    }
    /* Only recorded code has LINE events: the thread's recording is looked
       up first, and the frame's, usually open, has the code's info. */
    ThreadRecording *tr = thread_recording_of(tstate);
    OpenFrame *of = tr != NULL ? open_frame(tr, frame) : NULL;
    CodeInfo *info = of != NULL ? of->info : recorded_info(frame);
    if (tr != NULL && info != NULL) {
        PyCodeObject *code = _PyFrame_GetCode(frame);
        int unit = (int)(instr - _PyCode_CODE(code));
        record_step(tr, of, frame, info, unit, _Py_Instrumentation_GetLine(code, unit));
    }
    return CONTINUE;
}

static const struct {
    int event;
    _PyMonitoring_CCallback callback;
} CALLBACKS[] = {
    {PY_MONITORING_EVENT_PY_START, on_py_start},
    {PY_MONITORING_EVENT_PY_RESUME, on_resume},
    {PY_MONITORING_EVENT_PY_THROW, on_resume},
    {PY_MONITORING_EVENT_PY_RETURN, on_frame_exit},
    {PY_MONITORING_EVENT_PY_YIELD, on_frame_exit},
    {PY_MONITORING_EVENT_PY_UNWIND, on_frame_exit},
    {PY_MONITORING_EVENT_LINE, on_line},
    {PY_MONITORING_EVENT_INSTRUCTION, on_instruction},
    {PY_MONITORING_EVENT_RAISE, on_exception_event},
    {PY_MONITORING_EVENT_RERAISE, on_exception_event},
    {PY_MONITORING_EVENT_EXCEPTION_HANDLED, on_exception_event},
};

#define N_CALLBACKS ((int)(sizeof(CALLBACKS) / sizeof(CALLBACKS[0])))

int
hooks_install(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (interp->monitoring_tool_names[RECORDER_TOOL_ID] != NULL &&
        !PyUnicode_EqualToUTF8(interp->monitoring_tool_names[RECORDER_TOOL_ID], "python-ct"))
    {
        PyErr_Format(PyExc_RuntimeError, "sys.monitoring tool %d is in use",
                     RECORDER_TOOL_ID);
        return -1;
    }
    Py_XSETREF(interp->monitoring_tool_names[RECORDER_TOOL_ID],
               PyUnicode_FromString("python-ct"));
    if (interp->monitoring_tool_names[RECORDER_TOOL_ID] == NULL) {
        return -1;
    }
    for (int i = 0; i < N_CALLBACKS; i++) {
        _PyMonitoring_SetCCallback(RECORDER_TOOL_ID, CALLBACKS[i].event,
                                   CALLBACKS[i].callback);
    }
    return _PyMonitoring_SetEvents(RECORDER_TOOL_ID, GLOBAL_EVENTS);
}

/* The callbacks and the tool id stay: local events left on recorded code
   objects reach the callbacks, which DISABLE them (recorder.active is 0
   by then), so that code goes back to plain opcodes. */
void
hooks_remove(void)
{
    (void)_PyMonitoring_SetEvents(RECORDER_TOOL_ID, 0);
    PyErr_Clear();
}
