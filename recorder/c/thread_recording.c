/* One trace per recorded thread.
 *
 * A CodeTracer trace.json holds the steps of one thread, so each thread
 * that runs recorded code gets a complete trace folder of its own: the
 * thread that started the recording writes into the trace folder, the
 * others into threads/<n>/ inside it, numbered in the order they first ran
 * recorded code.  Callbacks find their thread's recording by the thread
 * state's id (never reused, unlike its address); the last one found is
 * cached because events come in long runs from one thread. */

#include "recorder.h"
#include "value_encoder.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static int
add_thread(ThreadRecording *tr)
{
    ThreadRecording **threads = PyMem_Realloc(
        recorder.threads, sizeof(*threads) * (size_t)(recorder.nthreads + 1));
    if (threads == NULL) {
        return -1;
    }
    recorder.threads = threads;
    tr->index = recorder.nthreads;
    recorder.threads[recorder.nthreads++] = tr;
    return 0;
}

/* The new recording is listed even if its files cannot be created, so
   that the thread is not tried again on its next event. */
ThreadRecording *
thread_recording_create(PyThreadState *tstate, const char *folder)
{
    ThreadRecording *tr = PyMem_Calloc(1, sizeof(ThreadRecording));
    if (tr == NULL || add_thread(tr) < 0) {
        PyMem_Free(tr);
        errno = ENOMEM;
        return NULL;
    }
    tr->thread_id = tstate->id;
    tr->ident = tstate->thread_id;
    tr->serial = ++recorder.next_serial;
    snprintf(tr->folder, sizeof(tr->folder), "%s", folder);
    tr->failed = 1;
    if (mkdir(folder, 0755) < 0 && errno != EEXIST) {
        return NULL;
    }
    if (tw_open(&tr->writer, folder, recorder.format) < 0) {
        return NULL;
    }
    /* CodeTracer would open a trace of the other format left there. */
    char other[4200];
    snprintf(other, sizeof(other), "%s/%s", folder,
             tw_file_name(recorder.format == TRACE_FORMAT_CTFS ? TRACE_FORMAT_JSON
                                                               : TRACE_FORMAT_CTFS));
    (void)unlink(other);
    if (ext_open(&tr->ext, folder, recorder.format == TRACE_FORMAT_CTFS) < 0) {
        int saved = errno;
        tw_abandon(&tr->writer);
        errno = saved;
        return NULL;
    }
    tr->failed = 0;
    return tr;
}

ThreadRecording *
thread_recording_lookup(PyThreadState *tstate)
{
    for (int i = 0; i < recorder.nthreads; i++) {
        ThreadRecording *tr = recorder.threads[i];
        if (tr->thread_id == tstate->id) {
            recorder.last = tr;
            return tr->failed ? NULL : tr;
        }
    }
    char folder[4096];
    ThreadRecording *tr = NULL;
    if (snprintf(folder, sizeof(folder), "%s/threads/%d", recorder.folder,
                 recorder.nthreads) >= (int)sizeof(folder))
    {
        errno = ENAMETOOLONG;
    }
    else {
        char *last_slash = strrchr(folder, '/');
        *last_slash = '\0';
        (void)mkdir(folder, 0755);   /* threads/; a failure shows in the next mkdir */
        *last_slash = '/';
        tr = thread_recording_create(tstate, folder);
    }
    if (tr == NULL) {
        fprintf(stderr, "python-ct: cannot record a thread into %s: %s\n",
                folder, strerror(errno));
    }
    if (recorder.nthreads > 0 &&
        recorder.threads[recorder.nthreads - 1]->thread_id == tstate->id)
    {
        recorder.last = recorder.threads[recorder.nthreads - 1];
    }
    return tr;
}

void
thread_recording_close_open_calls(ThreadRecording *tr)
{
    TraceWriter *w = &tr->writer;
    JsonBuffer *scratch = &tr->scratch;
    scratch->len = 0;
    /* The general encoder: gcc, seeing None's type through the inlined
       scalar path, warns of reads past None's struct on the paths for
       other types. */
    encode_value_as(w, scratch, Py_None, w->cbor);
    for (; tr->depth > 0; tr->depth--) {
        tw_return(w, scratch->data, scratch->len);
        kept_events_release(&tr->open_frames[tr->depth - 1].kept);
    }
}

static void
free_thread(ThreadRecording *tr)
{
    jb_free(&tr->scratch);
    for (Py_ssize_t i = 0; i < tr->open_frames_capacity; i++) {
        kept_events_free(&tr->open_frames[i].kept);
    }
    PyMem_Free(tr->open_frames);
    PyMem_Free(tr->arg_ids);
    PyMem_Free(tr->arg_offsets);
    PyMem_Free(tr);
}

void
thread_recordings_free(void)
{
    for (int i = 0; i < recorder.nthreads; i++) {
        free_thread(recorder.threads[i]);
    }
    PyMem_Free(recorder.threads);
    recorder.threads = NULL;
    recorder.nthreads = 0;
    recorder.last = NULL;
}

int
thread_recordings_close(void)
{
    int failed = 0;
    for (int i = 0; i < recorder.nthreads; i++) {
        ThreadRecording *tr = recorder.threads[i];
        if (tr->failed) {
            continue;
        }
        PyObject *paths = Py_NewRef(tr->writer.paths);
        TraceOrigin origin = {recorder.program, recorder.args, recorder.workdir};
        int write_failed = tw_close(&tr->writer, &origin) < 0;
        if (write_failed) {
            errno = tr->writer.stream.io_error;
        }
        else if (ext_close(&tr->ext) < 0) {
            errno = tr->ext.stream.io_error;
            write_failed = 1;
        }
        else {
            write_failed = recorder_write_metadata(tr, paths) < 0;
        }
        if (write_failed) {
            fprintf(stderr, "python-ct: writing the trace into %s failed: %s\n",
                    tr->folder, strerror(errno));
            failed = 1;
        }
        Py_DECREF(paths);
    }
    return failed ? -1 : 0;
}

void
thread_recordings_abandon(void)
{
    for (int i = 0; i < recorder.nthreads; i++) {
        ThreadRecording *tr = recorder.threads[i];
        if (!tr->failed) {
            tw_abandon(&tr->writer);
            ext_abandon(&tr->ext);
        }
    }
    thread_recordings_free();
}

/* Thread folders an earlier recording left in `folder` would read as this
   recording's threads: remove the files python-ct writes there, and the
   folders once empty. */
void
thread_recordings_remove_stale(const char *folder)
{
    static const char *const files[] = {
        "trace.json", "trace.ct", "trace_metadata.json", "trace_paths.json", EXTENSION_FILE_NAME,
        COMPRESSED_EXTENSION_FILE_NAME,
    };
    char path[4400];
    for (int n = 1;; n++) {
        snprintf(path, sizeof(path), "%s/threads/%d", folder, n);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
            break;
        }
        for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
            snprintf(path, sizeof(path), "%s/threads/%d/%s", folder, n, files[f]);
            (void)unlink(path);
        }
        snprintf(path, sizeof(path), "%s/threads/%d", folder, n);
        (void)rmdir(path);
    }
    snprintf(path, sizeof(path), "%s/threads", folder);
    (void)rmdir(path);
}
