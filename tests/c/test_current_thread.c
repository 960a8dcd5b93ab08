/* The current-thread flavor: rt_runtime_run / run_once / stop. */
#include "harness.h"
#include <pthread.h>

static pthread_t main_thread;
static atomic_int ran_on_main;
static void *note_thread(void *arg) {
    if (pthread_equal(pthread_self(), main_thread)) atomic_fetch_add(&ran_on_main, 1);
    return arg;
}

static void test_run_once_runs_ready_tasks_on_caller(void) {
    rt_runtime *rt = h_runtime_current_thread();
    main_thread = pthread_self();
    atomic_store(&ran_on_main, 0);
    rt_task *t;
    CHECK_OK(rt_spawn(rt, note_thread, (void *)5, NULL, &t));
    h_sleep_ms(10);
    CHECK(!rt_task_is_finished(t)); /* nothing runs until we drive it */
    CHECK_OK(rt_runtime_run_once(rt, 0));
    CHECK(rt_task_is_finished(t));
    CHECK_EQ(atomic_load(&ran_on_main), 1);
    void *r;
    CHECK_OK(rt_task_join(t, 0, &r));
    CHECK_EQ((intptr_t)r, 5);
    rt_task_free(t);
    /* nothing ready: waits at most the timeout */
    CHECK_OK(rt_runtime_run_once(rt, 10));
    rt_runtime_free(rt);
}

static void *stop_it(void *arg) {
    CHECK_OK(rt_runtime_stop((rt_runtime *)arg));
    CHECK_OK(rt_runtime_stop((rt_runtime *)arg)); /* twice is fine */
    return NULL;
}

static void test_run_until_stop_from_callback(void) {
    rt_runtime *rt = h_runtime_current_thread();
    CHECK_OK(rt_spawn(rt, stop_it, rt, NULL, NULL));
    CHECK_OK(rt_runtime_run(rt));
    rt_runtime_free(rt);
}

static void *stop_later(void *arg) {
    h_sleep_ms(30);
    rt_runtime_stop((rt_runtime *)arg);
    return NULL;
}

static void test_stop_from_other_thread(void) {
    rt_runtime *rt = h_runtime_current_thread();
    pthread_t th;
    pthread_create(&th, NULL, stop_later, rt);
    CHECK_OK(rt_runtime_run(rt));
    pthread_join(th, NULL);
    /* a stop before run makes it return after one pass */
    CHECK_OK(rt_runtime_stop(rt));
    CHECK_OK(rt_runtime_run(rt));
    /* a stop interrupts a long run_once */
    pthread_create(&th, NULL, stop_later, rt);
    long long t0 = h_now_ms();
    CHECK_OK(rt_runtime_run_once(rt, RT_FOREVER));
    CHECK(h_now_ms() - t0 < 60000);
    pthread_join(th, NULL);
    rt_runtime_free(rt);
}

static void *shutdown_later(void *arg) {
    h_sleep_ms(30);
    CHECK_OK(rt_runtime_shutdown((rt_runtime *)arg, RT_FOREVER));
    return NULL;
}

static atomic_int drops;
static void *never(void *arg) { return arg; }
static void count_drop_ct(void *p) {
    (void)p;
    atomic_fetch_add(&drops, 1);
}
static rt_poll pend_forever(void *s, const rt_waker *w, void **r) {
    (void)s, (void)w, (void)r;
    return RT_PENDING;
}

static void test_shutdown_while_running_and_after(void) {
    rt_runtime *rt = h_runtime_current_thread();
    pthread_t th;
    pthread_create(&th, NULL, shutdown_later, rt);
    CHECK_ST(rt_runtime_run(rt), RT_ERR_SHUTDOWN);
    pthread_join(th, NULL);
    CHECK_ST(rt_runtime_run(rt), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_runtime_run_once(rt, 0), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_runtime_stop(rt), RT_ERR_SHUTDOWN);
    rt_runtime_free(rt);

    /* tasks that never got to run are dropped at shutdown */
    rt = h_runtime_current_thread();
    atomic_store(&drops, 0);
    for (int i = 0; i < 5; i++) CHECK_OK(rt_spawn(rt, never, NULL, NULL, NULL));
    for (int i = 0; i < 5; i++) CHECK_OK(rt_spawn(rt, never, &drops, h_count_drop, NULL));
    CHECK_OK(rt_runtime_shutdown(rt, 0));
    CHECK_EQ(atomic_load(&drops), 5);
    rt_runtime_free(rt);
}

static void *nested_run(void *arg) { return (void *)(intptr_t)rt_runtime_run((rt_runtime *)arg); }
static void *nested_shutdown(void *arg) { return (void *)(intptr_t)rt_runtime_shutdown((rt_runtime *)arg, 0); }

static void test_run_from_callback_refused(void) {
    rt_runtime *rt = h_runtime_current_thread();
    rt_task *a, *b;
    CHECK_OK(rt_spawn(rt, nested_run, rt, NULL, &a));
    CHECK_OK(rt_spawn(rt, nested_shutdown, rt, NULL, &b));
    CHECK_OK(rt_runtime_run_once(rt, 0));
    void *r;
    CHECK_OK(rt_task_join(a, 0, &r));
    CHECK_EQ((intptr_t)r, RT_ERR_WOULD_DEADLOCK);
    CHECK_OK(rt_task_join(b, 0, &r));
    CHECK_EQ((intptr_t)r, RT_ERR_WOULD_DEADLOCK);
    rt_task_free(a);
    rt_task_free(b);
    rt_runtime_free(rt);
}

static void *free_it(void *arg) {
    rt_runtime_free((rt_runtime *)arg);
    return NULL;
}

static void test_free_from_callback_ends_run(void) {
    rt_runtime *rt = h_runtime_current_thread();
    atomic_store(&drops, 0);
    CHECK_OK(rt_spawn(rt, free_it, rt, NULL, NULL));
    CHECK_OK(rt_spawn_future(rt, pend_forever, NULL, count_drop_ct, NULL));
    /* the callback frees the runtime: run returns, the shutdown finishes
     * on a helper thread, and the pending future is released */
    CHECK_ST(rt_runtime_run(rt), RT_ERR_SHUTDOWN);
    CHECK(h_wait_flag(&drops));
    h_sleep_ms(20);
}

/* A thread parked in rt_runtime_run_once(RT_FOREVER) does not keep a
 * shutdown from another thread waiting: the shutdown wakes it, the pass
 * ends with RT_ERR_SHUTDOWN, and the shutdown returns. */
static rt_status run_once_result;
static void *run_once_forever(void *arg) {
    run_once_result = rt_runtime_run_once((rt_runtime *)arg, RT_FOREVER);
    return NULL;
}

static void test_shutdown_ends_a_run_once_parked_forever(void) {
    rt_runtime *rt = h_runtime_current_thread();
    pthread_t th;
    pthread_create(&th, NULL, run_once_forever, rt);
    h_sleep_ms(100);
    long long t0 = h_now_ms();
    CHECK_OK(rt_runtime_shutdown(rt, 5000));
    CHECK(h_now_ms() - t0 < 4000);
    pthread_join(th, NULL);
    CHECK_EQ(run_once_result, RT_ERR_SHUTDOWN);
    rt_runtime_free(rt);
}

/* A shutdown's timeout holds while a callback runs on the driving
 * thread: it returns RT_ERR_TIMEOUT in time, the driving thread finishes
 * the shutdown as it leaves rt_runtime_run (the task's drop_arg runs
 * there), and a second shutdown waits for that. */
static atomic_int slow_started;
static void slow_cb(void *arg) {
    (void)arg;
    atomic_store(&slow_started, 1);
    h_sleep_ms(400);
}
static rt_status run_result;
static void *run_it(void *arg) {
    run_result = rt_runtime_run((rt_runtime *)arg);
    return NULL;
}

static void test_shutdown_timeout_holds_while_a_callback_runs(void) {
    rt_runtime *rt = h_runtime_current_thread();
    atomic_store(&slow_started, 0);
    atomic_store(&drops, 0);
    CHECK_OK(rt_timer_start(rt, 0, 0, slow_cb, NULL, NULL, NULL));
    CHECK_OK(rt_spawn_future(rt, pend_forever, NULL, count_drop_ct, NULL));
    pthread_t th;
    pthread_create(&th, NULL, run_it, rt);
    CHECK(h_wait_flag(&slow_started));
    long long t0 = h_now_ms();
    CHECK_ST(rt_runtime_shutdown(rt, 0), RT_ERR_TIMEOUT);
    CHECK(h_now_ms() - t0 < 300);
    CHECK_EQ(atomic_load(&drops), 0);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 1);
    pthread_join(th, NULL);
    CHECK_EQ(run_result, RT_ERR_SHUTDOWN);
    rt_runtime_free(rt);
}

/* A drop_arg run by rt_runtime_shutdown may free the runtime (allowed
 * from callbacks); the shutdown call must not touch the freed handle. */
static rt_runtime *freed_by_drop;
static void drop_frees_runtime(void *arg) {
    (void)arg;
    rt_runtime_free(freed_by_drop);
}

static void test_drop_arg_freeing_the_runtime_during_shutdown(void) {
    freed_by_drop = h_runtime_current_thread();
    CHECK_OK(rt_spawn(freed_by_drop, never, NULL, drop_frees_runtime, NULL));
    CHECK_OK(rt_spawn(freed_by_drop, never, &drops, h_count_drop, NULL));
    atomic_store(&drops, 0);
    CHECK_OK(rt_runtime_shutdown(freed_by_drop, RT_FOREVER));
    CHECK(h_wait_flag(&drops));
    /* the helper thread that finishes the free */
    h_sleep_ms(50);
}

/* A shutdown from another thread while the loop is driven shuts the
 * runtime down on its own thread once the pass ends: the driving thread
 * returns at once, even when blocking work waits for something it does
 * after rt_runtime_run returns (it used to wait for that work: a hang). */
static pthread_mutex_t ho_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ho_cv = PTHREAD_COND_INITIALIZER;
static int ho_started, ho_released;
static rt_status ho_shutdown_status;
static uint64_t ho_timeout;
static void *ho_job(void *arg) {
    (void)arg;
    pthread_mutex_lock(&ho_m);
    ho_started = 1;
    pthread_cond_broadcast(&ho_cv);
    while (!ho_released) pthread_cond_wait(&ho_cv, &ho_m);
    pthread_mutex_unlock(&ho_m);
    return NULL;
}
static void *ho_shutter(void *arg) {
    pthread_mutex_lock(&ho_m);
    while (!ho_started) pthread_cond_wait(&ho_cv, &ho_m);
    pthread_mutex_unlock(&ho_m);
    h_sleep_ms(50);
    ho_shutdown_status = rt_runtime_shutdown((rt_runtime *)arg, ho_timeout);
    return NULL;
}

static void test_shutdown_does_not_make_the_driver_wait_for_blocking_work(void) {
    uint64_t timeouts[] = {RT_FOREVER, 5000};
    for (int i = 0; i < 2; i++) {
        rt_runtime *rt = h_runtime_current_thread();
        ho_started = ho_released = 0;
        ho_timeout = timeouts[i];
        rt_task *t;
        CHECK_OK(rt_spawn_blocking(rt, ho_job, NULL, NULL, &t));
        pthread_t th;
        pthread_create(&th, NULL, ho_shutter, rt);
        long long t0 = h_now_ms();
        CHECK_ST(rt_runtime_run(rt), RT_ERR_SHUTDOWN);
        CHECK(h_now_ms() - t0 < 2000);
        pthread_mutex_lock(&ho_m);
        ho_released = 1;
        pthread_cond_broadcast(&ho_cv);
        pthread_mutex_unlock(&ho_m);
        pthread_join(th, NULL);
        CHECK_OK(ho_shutdown_status);
        rt_task_free(t);
        rt_runtime_free(rt);
    }
}

/* rt_runtime_shutdown(rt, 0) while another thread sits idle in
 * rt_runtime_run: the driver gets to leave, nothing was running, RT_OK. */
static void *run_idle(void *arg) {
    run_result = rt_runtime_run((rt_runtime *)arg);
    return NULL;
}

static void test_zero_timeout_shutdown_of_an_idle_driven_loop_is_ok(void) {
    for (int i = 0; i < 5; i++) {
        rt_runtime *rt = h_runtime_current_thread();
        pthread_t th;
        pthread_create(&th, NULL, run_idle, rt);
        h_sleep_ms(20);
        CHECK_OK(rt_runtime_shutdown(rt, 0));
        pthread_join(th, NULL);
        CHECK_EQ(run_result, RT_ERR_SHUTDOWN);
        rt_runtime_free(rt);
    }
}

int main(void) {
    RUN(test_run_once_runs_ready_tasks_on_caller);
    RUN(test_run_until_stop_from_callback);
    RUN(test_stop_from_other_thread);
    RUN(test_shutdown_while_running_and_after);
    RUN(test_run_from_callback_refused);
    RUN(test_free_from_callback_ends_run);
    RUN(test_shutdown_ends_a_run_once_parked_forever);
    RUN(test_shutdown_timeout_holds_while_a_callback_runs);
    RUN(test_drop_arg_freeing_the_runtime_during_shutdown);
    RUN(test_shutdown_does_not_make_the_driver_wait_for_blocking_work);
    RUN(test_zero_timeout_shutdown_of_an_idle_driven_loop_is_ok);
    DONE();
}
