/* rt_spawn, rt_spawn_blocking, joining (blocking, polling, callback),
 * abort, drop_arg accounting, and shutdown. */
#include "harness.h"

static void *add_one(void *arg) { return (void *)((intptr_t)arg + 1); }

static void test_spawn_join_result(void) {
    rt_runtime *rt = h_runtime(2);
    rt_task *t = NULL;
    CHECK_OK(rt_spawn(rt, add_one, (void *)41, NULL, &t));
    void *r = NULL;
    CHECK_OK(rt_task_join(t, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, 42);
    CHECK(rt_task_is_finished(t));
    CHECK_ST(rt_task_join(t, RT_FOREVER, &r), RT_ERR_INVALID); /* joined twice */
    rt_task_free(t);
    rt_runtime_free(rt);
}

static atomic_int drops;
static void *count_and_return(void *arg) {
    /* drop_arg has not run yet while the body runs */
    return (void *)(intptr_t)atomic_load(&drops) + (arg == &drops ? 100 : 0);
}

static void test_drop_arg_once_after_run(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&drops, 0);
    rt_task *t;
    CHECK_OK(rt_spawn(rt, count_and_return, &drops, h_count_drop, &t));
    void *r;
    CHECK_OK(rt_task_join(t, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, 100);
    CHECK_EQ(atomic_load(&drops), 1); /* before the join returned */
    rt_task_free(t);
    /* detached tasks too */
    for (int i = 0; i < 50; i++) CHECK_OK(rt_spawn(rt, count_and_return, &drops, h_count_drop, NULL));
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 51);
    rt_runtime_free(rt);
}

static void test_spawn_errors(void) {
    rt_runtime *rt = h_runtime(1);
    rt_task *t = NULL;
    atomic_store(&drops, 0);
    CHECK_ST(rt_spawn(NULL, add_one, NULL, NULL, &t), RT_ERR_NULL);
    CHECK_ST(rt_spawn(rt, NULL, &drops, h_count_drop, &t), RT_ERR_NULL);
    CHECK_ST(rt_spawn_blocking(NULL, add_one, NULL, NULL, &t), RT_ERR_NULL);
    CHECK_ST(rt_spawn_blocking(rt, NULL, &drops, h_count_drop, &t), RT_ERR_NULL);
    CHECK_ST(rt_spawn_future(NULL, NULL, NULL, NULL, &t), RT_ERR_NULL);
    CHECK_ST(rt_spawn_future(rt, NULL, &drops, h_count_drop, &t), RT_ERR_NULL);
    CHECK(t == NULL);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_ST(rt_spawn(rt, add_one, &drops, h_count_drop, &t), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_spawn_blocking(rt, add_one, &drops, h_count_drop, &t), RT_ERR_SHUTDOWN);
    CHECK(t == NULL);
    CHECK_EQ(atomic_load(&drops), 0); /* failed calls never take ownership */
    rt_runtime_free(rt);
}

static void *sleepy(void *arg) {
    h_sleep_ms((long)(intptr_t)arg);
    return (void *)7;
}

static void test_join_timeouts(void) {
    rt_runtime *rt = h_runtime(1);
    rt_task *t;
    CHECK_OK(rt_spawn_blocking(rt, sleepy, (void *)200, NULL, &t));
    void *r = (void *)1;
    CHECK_ST(rt_task_join(t, 0, &r), RT_ERR_TIMEOUT);
    CHECK_ST(rt_task_join(t, 10, &r), RT_ERR_TIMEOUT);
    CHECK(!rt_task_is_finished(t));
    CHECK_OK(rt_task_join(t, UINT64_MAX - 1, &r)); /* absurd but finite */
    CHECK_EQ((intptr_t)r, 7);
    rt_task_free(t);
    CHECK_ST(rt_task_join(NULL, 0, &r), RT_ERR_NULL);
    CHECK(!rt_task_is_finished(NULL));
    rt_runtime_free(rt);
}

static void *join_inside(void *arg) {
    rt_task *other = arg;
    return (void *)(intptr_t)rt_task_join(other, RT_FOREVER, NULL);
}

static void test_join_from_worker_errors_instead_of_deadlock(void) {
    rt_runtime *rt = h_runtime(1);
    rt_task *blocker, *t;
    CHECK_OK(rt_spawn_blocking(rt, sleepy, (void *)50, NULL, &blocker));
    CHECK_OK(rt_spawn(rt, join_inside, blocker, NULL, &t));
    void *r;
    CHECK_OK(rt_task_join(t, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, RT_ERR_WOULD_DEADLOCK);
    /* but a blocking-pool body may block on a join */
    rt_task *t2;
    CHECK_OK(rt_spawn_blocking(rt, join_inside, blocker, NULL, &t2));
    CHECK_OK(rt_task_join(t2, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, RT_OK);
    rt_task_free(t);
    rt_task_free(t2);
    rt_task_free(blocker);
    rt_runtime_free(rt);
}

static atomic_int gate;
static void *wait_gate(void *arg) {
    (void)arg;
    h_wait_flag(&gate);
    return NULL;
}

static void test_abort_before_run(void) {
    /* one worker busy on a blocking wait so the next task cannot start */
    rt_runtime *rt = h_runtime(1);
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    rt_task *busy, *t;
    CHECK_OK(rt_spawn(rt, wait_gate, NULL, NULL, &busy));
    h_sleep_ms(20);
    CHECK_OK(rt_spawn(rt, add_one, &drops, h_count_drop, &t));
    CHECK_OK(rt_task_abort(t));
    CHECK_OK(rt_task_abort(t)); /* twice is fine */
    atomic_store(&gate, 1);
    void *r = (void *)1;
    CHECK_ST(rt_task_join(t, RT_FOREVER, &r), RT_ERR_CANCELLED);
    CHECK(r == NULL);
    CHECK_EQ(atomic_load(&drops), 1);
    CHECK_OK(rt_task_join(busy, RT_FOREVER, NULL));
    CHECK_OK(rt_task_abort(busy)); /* finished: no effect */
    CHECK_ST(rt_task_abort(NULL), RT_ERR_NULL);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_ST(rt_task_abort(t), RT_ERR_SHUTDOWN);
    rt_task_free(t);
    rt_task_free(busy);
    rt_runtime_free(rt);
}

static void test_shutdown_cancels_pending_and_drops_args(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    rt_task *busy, *pending, *blocking_pending;
    rt_config cfg;
    (void)cfg;
    CHECK_OK(rt_spawn(rt, wait_gate, NULL, NULL, &busy));
    h_sleep_ms(20);
    CHECK_OK(rt_spawn(rt, add_one, &drops, h_count_drop, &pending));
    CHECK_OK(rt_spawn_blocking(rt, wait_gate, &drops, h_count_drop, &blocking_pending));
    atomic_store(&gate, 1);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    /* every pending drop_arg has run by now */
    CHECK_EQ(atomic_load(&drops), 2);
    void *r;
    rt_status st = rt_task_join(pending, 0, &r);
    CHECK(st == RT_OK || st == RT_ERR_SHUTDOWN);
    CHECK(rt_task_is_finished(busy));
    rt_task_free(busy);
    rt_task_free(pending);
    rt_task_free(blocking_pending);
    rt_runtime_free(rt);
}

static atomic_int cb_calls;
static atomic_intptr_t cb_result;
static atomic_int cb_status;
static void on_done(void *arg, rt_status st, void *result) {
    atomic_store(&cb_status, (int)st);
    atomic_store(&cb_result, (intptr_t)result);
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_on_complete(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&gate, 0);
    atomic_store(&cb_calls, 0);
    rt_task *t;
    CHECK_OK(rt_spawn(rt, wait_gate, NULL, NULL, &t));
    CHECK_OK(rt_task_on_complete(t, on_done, &cb_calls));
    CHECK_ST(rt_task_on_complete(t, on_done, &cb_calls), RT_ERR_INVALID);
    CHECK_ST(rt_task_on_complete(t, NULL, NULL), RT_ERR_NULL);
    CHECK_ST(rt_task_on_complete(NULL, on_done, NULL), RT_ERR_NULL);
    atomic_store(&gate, 1);
    CHECK(h_wait_flag(&cb_calls));
    CHECK_EQ(atomic_load(&cb_status), RT_OK);
    rt_task_free(t);

    /* already finished: runs at once, with the result */
    CHECK_OK(rt_spawn(rt, add_one, (void *)9, NULL, &t));
    CHECK_OK(rt_task_join(t, RT_FOREVER, NULL));
    CHECK_OK(rt_task_on_complete(t, on_done, &cb_calls));
    CHECK_EQ(atomic_load(&cb_calls), 2);
    CHECK_EQ(atomic_load(&cb_result), 10);
    rt_task_free(t);
    rt_runtime_free(rt);
}

static void test_on_complete_reports_cancel(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&gate, 0);
    atomic_store(&cb_calls, 0);
    rt_task *busy, *t;
    CHECK_OK(rt_spawn(rt, wait_gate, NULL, NULL, &busy));
    h_sleep_ms(20);
    CHECK_OK(rt_spawn(rt, add_one, NULL, NULL, &t));
    CHECK_OK(rt_task_on_complete(t, on_done, &cb_calls));
    CHECK_OK(rt_task_abort(t));
    atomic_store(&gate, 1);
    CHECK(h_wait_flag(&cb_calls));
    CHECK_EQ(atomic_load(&cb_status), RT_ERR_CANCELLED);
    rt_task_free(t);
    rt_task_free(busy);
    rt_runtime_free(rt);
}

static atomic_int bodies_run;
static void *count_body(void *arg) {
    atomic_fetch_add(&bodies_run, 1);
    return arg;
}

static void test_abort_queued_and_running_blocking(void) {
    /* one pool thread, held by a gated body: the next job stays queued */
    rt_runtime *rt = h_runtime_pool(1, 1);
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    atomic_store(&cb_calls, 0);
    atomic_store(&bodies_run, 0);
    rt_task *running, *queued, *after;
    CHECK_OK(rt_spawn_blocking(rt, wait_gate, &drops, h_count_drop, &running));
    h_sleep_ms(20); /* let it start */
    CHECK_OK(rt_spawn_blocking(rt, count_body, &drops, h_count_drop, &queued));
    CHECK_OK(rt_task_on_complete(queued, on_done, &cb_calls));
    CHECK_OK(rt_spawn_blocking(rt, count_body, (void *)5, NULL, &after));
    CHECK_OK(rt_task_abort(queued));
    CHECK_OK(rt_task_abort(queued)); /* twice is fine */
    CHECK_OK(rt_task_abort(running)); /* started: it finishes */
    CHECK(!rt_task_is_finished(running));
    atomic_store(&gate, 1);
    CHECK_OK(rt_task_join(running, RT_FOREVER, NULL));
    void *r = (void *)1;
    CHECK_ST(rt_task_join(queued, RT_FOREVER, &r), RT_ERR_CANCELLED);
    CHECK(r == NULL);
    CHECK(h_wait_flag(&cb_calls));
    CHECK_EQ(atomic_load(&cb_status), RT_ERR_CANCELLED);
    CHECK_OK(rt_task_join(after, RT_FOREVER, &r)); /* the queue moves on */
    CHECK_EQ((intptr_t)r, 5);
    CHECK_EQ(atomic_load(&bodies_run), 1); /* only `after`'s body ran */
    CHECK_EQ(atomic_load(&drops), 2);      /* both drop_args, once each */
    rt_task_free(running);
    rt_task_free(queued);
    rt_task_free(after);
    rt_runtime_free(rt);
}

static atomic_int jobs_ok;
static void count_ok(void *arg, rt_status st, void *result) {
    (void)arg;
    (void)result;
    if (st == RT_OK) atomic_fetch_add(&jobs_ok, 1);
}

static void test_stream_of_blocking_jobs_then_free(void) {
    /* Finished jobs' slots are handed back to the spawning thread to free
     * (ffi/src/runtime.rs, Shared::retire); freeing the runtime must free
     * whatever is still queued there: every drop_arg ran, no fd stays open
     * (a slot holds the runtime), and valgrind/ASan see no leak. */
    int fds_before = h_count_dir("/proc/self/fd");
    rt_runtime *rt = h_runtime_pool(1, 4);
    atomic_store(&drops, 0);
    atomic_store(&jobs_ok, 0);
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        rt_task *t;
        CHECK_OK(rt_spawn_blocking(rt, add_one, &drops, h_count_drop, &t));
        CHECK_OK(rt_task_on_complete(t, count_ok, NULL));
        rt_task_free(t);
        CHECK_OK(rt_spawn_blocking(rt, add_one, &drops, h_count_drop, NULL)); /* detached */
    }
    for (int i = 0; i < 10000 && atomic_load(&jobs_ok) < N; i++) h_sleep_ms(1);
    CHECK_EQ(atomic_load(&jobs_ok), N);
    rt_runtime_free(rt);
    CHECK_EQ(atomic_load(&drops), 2 * N);
    CHECK_EQ(h_count_dir("/proc/self/fd"), fds_before);
}

static atomic_int woken;
static void wake_cb(void *data) { atomic_fetch_add((atomic_int *)data, 1); }

static void test_task_poll_with_callback_waker(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&gate, 0);
    atomic_store(&woken, 0);
    rt_waker *w = rt_waker_new(&woken, wake_cb, NULL);
    CHECK(w != NULL);
    rt_task *t;
    CHECK_OK(rt_spawn(rt, wait_gate, NULL, NULL, &t));
    rt_status st = RT_ERR_IO;
    void *r = (void *)1;
    CHECK_EQ(rt_task_poll(t, w, &st, &r), RT_PENDING);
    CHECK_EQ(rt_task_poll(t, w, &st, &r), RT_PENDING); /* same waker: registered once */
    atomic_store(&gate, 1);
    CHECK(h_wait_flag(&woken));
    CHECK_EQ(rt_task_poll(t, w, &st, &r), RT_READY);
    CHECK_EQ(st, RT_OK);
    CHECK(r == NULL);
    CHECK_EQ(rt_task_poll(t, w, &st, &r), RT_READY); /* consumed */
    CHECK_EQ(st, RT_ERR_INVALID);
    CHECK_EQ(rt_task_poll(NULL, w, &st, &r), RT_READY);
    CHECK_EQ(st, RT_ERR_NULL);
    CHECK_EQ(rt_task_poll(t, NULL, &st, &r), RT_READY);
    CHECK_EQ(st, RT_ERR_NULL);
    rt_waker_free(w);
    rt_task_free(t);
    rt_task_free(NULL);
    rt_runtime_free(rt);
}

static void test_spawn_blocking_runs_off_workers(void) {
    rt_runtime *rt = h_runtime(1);
    rt_task *ts[8];
    for (int i = 0; i < 8; i++) CHECK_OK(rt_spawn_blocking(rt, sleepy, (void *)20, NULL, &ts[i]));
    for (int i = 0; i < 8; i++) {
        void *r;
        CHECK_OK(rt_task_join(ts[i], RT_FOREVER, &r));
        CHECK_EQ((intptr_t)r, 7);
        rt_task_free(ts[i]);
    }
    rt_runtime_free(rt);
}

static void test_shutdown_timeout_reports_running_bodies(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    rt_task *t;
    CHECK_OK(rt_spawn_blocking(rt, wait_gate, &drops, h_count_drop, &t));
    h_sleep_ms(20); /* let it start */
    CHECK_ST(rt_runtime_shutdown(rt, 10), RT_ERR_TIMEOUT);
    CHECK_EQ(atomic_load(&drops), 0);                 /* still held by the body */
    CHECK_ST(rt_spawn(rt, add_one, NULL, NULL, NULL), RT_ERR_SHUTDOWN); /* but shut down */
    atomic_store(&gate, 1);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER)); /* waits for the rest */
    CHECK_EQ(atomic_load(&drops), 1);
    CHECK_OK(rt_task_join(t, RT_FOREVER, NULL));
    rt_task_free(t);
    rt_runtime_free(rt);
}

static void *free_runtime(void *arg) {
    rt_runtime_free((rt_runtime *)arg); /* from its own worker: handed off */
    return NULL;
}

static void test_free_from_own_callback(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    rt_task *pending;
    CHECK_OK(rt_spawn_blocking(rt, wait_gate, &drops, h_count_drop, &pending));
    CHECK_OK(rt_spawn(rt, free_runtime, rt, NULL, NULL));
    h_sleep_ms(20);
    atomic_store(&gate, 1);
    /* the shutdown completes on a helper thread: the task ends, its
     * drop_arg runs, and the handle reports the outcome */
    CHECK(h_wait_flag(&drops));
    rt_status st = rt_task_join(pending, RT_FOREVER, NULL);
    CHECK(st == RT_OK || st == RT_ERR_SHUTDOWN); /* ran, or cancelled before it started */
    h_sleep_ms(50); /* let the helper thread finish joining the workers */
    rt_task_free(pending);
}

int main(void) {
    RUN(test_spawn_join_result);
    RUN(test_drop_arg_once_after_run);
    RUN(test_spawn_errors);
    RUN(test_join_timeouts);
    RUN(test_join_from_worker_errors_instead_of_deadlock);
    RUN(test_abort_before_run);
    RUN(test_shutdown_cancels_pending_and_drops_args);
    RUN(test_on_complete);
    RUN(test_on_complete_reports_cancel);
    RUN(test_abort_queued_and_running_blocking);
    RUN(test_stream_of_blocking_jobs_then_free);
    RUN(test_task_poll_with_callback_waker);
    RUN(test_spawn_blocking_runs_off_workers);
    RUN(test_shutdown_timeout_reports_running_bodies);
    RUN(test_free_from_own_callback);
    DONE();
}
