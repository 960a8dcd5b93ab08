/* Timers (rt_timer_*) and sleeps (rt_sleep_*). */
#include "harness.h"
#include <pthread.h>

static atomic_int fired, drops;
static void count_drop(void *p) {
    (void)p;
    atomic_fetch_add(&drops, 1);
}
static void on_fire(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

static void test_one_shot_fires_once_after_delay(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&fired, 0);
    atomic_store(&drops, 0);
    long long t0 = h_now_ms();
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 30, 0, on_fire, &fired, count_drop, &t));
    CHECK(h_wait_flag(&fired));
    CHECK(h_now_ms() - t0 >= 30); /* never early */
    h_sleep_ms(30);
    CHECK_EQ(atomic_load(&fired), 1);
    CHECK_EQ(atomic_load(&drops), 1); /* released after the one shot */
    CHECK_OK(rt_timer_stop(t)); /* stopping a fired one-shot is fine */
    CHECK_EQ(atomic_load(&drops), 1);
    rt_timer_free(t);
    rt_runtime_free(rt);
}

static atomic_int inline_flag;
static void mark_inline(void *arg) { atomic_store((atomic_int *)arg, 1); }

static void *start_zero_timer(void *arg) {
    /* on the only worker: the timer's task cannot run before we return,
     * so the flag would only be set here if the callback ran inline */
    CHECK_OK(rt_timer_start((rt_runtime *)arg, 0, 0, mark_inline, &inline_flag, NULL, NULL));
    return (void *)(intptr_t)atomic_load(&inline_flag);
}

static void test_zero_delay_never_inline(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&inline_flag, 0);
    rt_task *task;
    CHECK_OK(rt_spawn(rt, start_zero_timer, rt, NULL, &task));
    void *seen = (void *)1;
    CHECK_OK(rt_task_join(task, RT_FOREVER, &seen));
    CHECK(seen == NULL);
    CHECK(h_wait_flag(&inline_flag)); /* but it fires soon */
    rt_task_free(task);
    rt_timer *t;
    atomic_store(&inline_flag, 0);
    CHECK_OK(rt_timer_start(rt, 0, 0, mark_inline, &inline_flag, NULL, &t));
    CHECK(h_wait_flag(&inline_flag));
    rt_timer_free(t);
    /* detached timer (out = NULL) */
    atomic_store(&inline_flag, 0);
    CHECK_OK(rt_timer_start(rt, 0, 0, mark_inline, &inline_flag, NULL, NULL));
    CHECK(h_wait_flag(&inline_flag));
    rt_runtime_free(rt);
}

static void test_repeating_and_sync_stop(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&fired, 0);
    atomic_store(&drops, 0);
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 1, 2, on_fire, &fired, count_drop, &t));
    for (int i = 0; i < 5000 && atomic_load(&fired) < 5; i++) h_sleep_ms(1);
    CHECK(atomic_load(&fired) >= 5);
    CHECK_OK(rt_timer_stop(t));
    int n = atomic_load(&fired);
    CHECK_EQ(atomic_load(&drops), 1);
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&fired), n); /* nothing after stop returned */
    CHECK_OK(rt_timer_stop(t)); /* idempotent */
    CHECK_EQ(atomic_load(&drops), 1);
    rt_timer_free(t);
    rt_runtime_free(rt);
}

/* stop from another thread while the callback runs: stop waits for it */
static atomic_int in_cb, after_stop;
static atomic_int stopped_flag;
static void slow_cb(void *arg) {
    (void)arg;
    atomic_store(&in_cb, 1);
    h_sleep_ms(50);
    if (atomic_load(&stopped_flag)) atomic_store(&after_stop, 1);
    atomic_store(&in_cb, 0);
}

static void test_stop_waits_for_running_callback(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&in_cb, 0);
    atomic_store(&after_stop, 0);
    atomic_store(&stopped_flag, 0);
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 0, 1, slow_cb, NULL, NULL, &t));
    CHECK(h_wait_flag(&in_cb));
    CHECK_OK(rt_timer_stop(t));
    CHECK_EQ(atomic_load(&in_cb), 0); /* returned only after the callback did */
    atomic_store(&stopped_flag, 1);
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&after_stop), 0);
    rt_timer_free(t);
    rt_runtime_free(rt);
}

typedef struct { rt_timer *self; atomic_int n; } self_stop;
static void stop_self(void *arg) {
    self_stop *s = arg;
    if (atomic_fetch_add(&s->n, 1) == 2) CHECK_OK(rt_timer_stop(s->self));
}

static void test_stop_from_own_callback(void) {
    rt_runtime *rt = h_runtime(2);
    self_stop s = {NULL, 0};
    atomic_store(&drops, 0);
    CHECK_OK(rt_timer_start(rt, 5, 1, stop_self, &s, count_drop, &s.self));
    for (int i = 0; i < 5000 && atomic_load(&drops) == 0; i++) h_sleep_ms(1);
    CHECK_EQ(atomic_load(&drops), 1);
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&s.n), 3);
    rt_timer_free(s.self);
    rt_runtime_free(rt);
}

/* A fired one-shot releases its argument from its own task; an
 * rt_timer_stop that comes meanwhile must still return only after
 * drop_arg finished (it used to find the argument taken and return). */
static atomic_int slow_drop_started, slow_drop_done;
static void slow_drop(void *p) {
    (void)p;
    atomic_store(&slow_drop_started, 1);
    h_sleep_ms(100);
    atomic_store(&slow_drop_done, 1);
}

static void test_stop_waits_for_the_tasks_own_release(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&fired, 0);
    atomic_store(&slow_drop_started, 0);
    atomic_store(&slow_drop_done, 0);
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 0, 0, on_fire, &fired, slow_drop, &t));
    CHECK(h_wait_flag(&slow_drop_started));
    CHECK_EQ(atomic_load(&fired), 1);
    CHECK_OK(rt_timer_stop(t));
    CHECK_EQ(atomic_load(&slow_drop_done), 1);
    rt_timer_free(t);
    rt_runtime_free(rt);
}

/* The reverse: rt_timer_stop on a user thread runs a slow drop_arg while
 * the timer's own task fires, finds the slot stopped and ends. That task's
 * own stop must not wait for the foreign drop_arg: it would block the only
 * worker, and this drop_arg waits for another timer on that worker. */
static atomic_int other_ticks, ticks_seen;
static void other_tick(void *p) {
    (void)p;
    atomic_fetch_add(&other_ticks, 1);
}
static void noop_cb(void *p) { (void)p; }
static void drop_waiting_for_ticks(void *p) {
    (void)p;
    int start = atomic_load(&other_ticks);
    long long t0 = h_now_ms();
    while (h_now_ms() - t0 < 2000 && atomic_load(&other_ticks) - start < 5) h_sleep_ms(1);
    atomic_store(&ticks_seen, atomic_load(&other_ticks) - start);
}

static void test_task_stop_never_waits_for_a_foreign_release(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&other_ticks, 0);
    atomic_store(&ticks_seen, 0);
    rt_timer *t1, *t2;
    CHECK_OK(rt_timer_start(rt, 1, 1, other_tick, NULL, NULL, &t2));
    CHECK_OK(rt_timer_start(rt, 1, 1, noop_cb, NULL, drop_waiting_for_ticks, &t1));
    h_sleep_ms(20);
    CHECK_OK(rt_timer_stop(t1));
    CHECK(atomic_load(&ticks_seen) >= 5);
    rt_timer_free(t1);
    rt_timer_free(t2);
    rt_runtime_free(rt);
}

static void test_absurd_delays(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&fired, 0);
    atomic_store(&drops, 0);
    rt_timer *never, *never2;
    CHECK_OK(rt_timer_start(rt, UINT64_MAX, 0, on_fire, &fired, count_drop, &never));
    CHECK_OK(rt_timer_start(rt, UINT64_MAX - 1, UINT64_MAX, on_fire, &fired, count_drop, &never2));
    rt_timer *big_repeat;
    CHECK_OK(rt_timer_start(rt, 0, UINT64_MAX, on_fire, &fired, count_drop, &big_repeat));
    CHECK(h_wait_flag(&fired));
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&fired), 1); /* only the 0 ms one, once */
    rt_timer_free(never);
    rt_timer_free(never2);
    rt_timer_free(big_repeat);
    CHECK_EQ(atomic_load(&drops), 3);
    rt_runtime_free(rt);
}

/* timers started without a handle (out == NULL, no queue) run as their own
 * kind of task: the same ticks, the same drop_arg guarantees */
static atomic_int hl_one, hl_rep, hl_big, hl_never, hl_drops;
static void hl_drop(void *p) {
    (void)p;
    atomic_fetch_add(&hl_drops, 1);
}

static void test_handleless_timers(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&hl_one, 0);
    atomic_store(&hl_rep, 0);
    atomic_store(&hl_big, 0);
    atomic_store(&hl_never, 0);
    atomic_store(&hl_drops, 0);
    long long t0 = h_now_ms();
    CHECK_OK(rt_timer_start(rt, 20, 0, on_fire, &hl_one, hl_drop, NULL));
    CHECK_OK(rt_timer_start(rt, 1, 2, on_fire, &hl_rep, hl_drop, NULL));
    CHECK_OK(rt_timer_start(rt, 0, UINT64_MAX, on_fire, &hl_big, hl_drop, NULL));
    CHECK_OK(rt_timer_start(rt, UINT64_MAX, 0, on_fire, &hl_never, hl_drop, NULL));
    CHECK_OK(rt_timer_start(rt, UINT64_MAX - 1, 1, on_fire, &hl_never, hl_drop, NULL));
    CHECK(h_wait_flag(&hl_one));
    CHECK(h_now_ms() - t0 >= 20); /* never early */
    /* the one-shot released its argument once it fired */
    for (int i = 0; i < 2000 && atomic_load(&hl_drops) < 1; i++) h_sleep_ms(1);
    CHECK_EQ(atomic_load(&hl_drops), 1);
    /* the repeating one keeps ticking: 10 ticks of 2 ms */
    for (int i = 0; i < 5000 && atomic_load(&hl_rep) < 10; i++) h_sleep_ms(1);
    CHECK(atomic_load(&hl_rep) >= 10);
    h_sleep_ms(10);
    CHECK_EQ(atomic_load(&hl_big), 1); /* its next tick is beyond any instant */
    CHECK_EQ(atomic_load(&hl_never), 0);
    CHECK_EQ(atomic_load(&hl_drops), 1);
    /* shutdown releases the four still pending, once each, and no tick
     * runs after it returned */
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&hl_drops), 5);
    int rep = atomic_load(&hl_rep);
    h_sleep_ms(10);
    CHECK_EQ(atomic_load(&hl_rep), rep);
    CHECK_EQ(atomic_load(&hl_big), 1);
    CHECK_EQ(atomic_load(&hl_never), 0);
    rt_runtime_free(rt);
}

static void test_timer_errors_and_shutdown(void) {
    rt_runtime *rt = h_runtime(1);
    rt_timer *t = NULL;
    atomic_store(&drops, 0);
    CHECK_ST(rt_timer_start(NULL, 1, 0, on_fire, NULL, NULL, &t), RT_ERR_NULL);
    CHECK_ST(rt_timer_start(rt, 1, 0, NULL, &drops, count_drop, &t), RT_ERR_NULL);
    CHECK_ST(rt_timer_start_on(NULL, 1, 0, on_fire, NULL, NULL, &t), RT_ERR_NULL);
    CHECK_ST(rt_timer_stop(NULL), RT_ERR_NULL);
    rt_timer_free(NULL);
    CHECK(t == NULL);
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    /* pending timers are released by shutdown */
    CHECK_OK(rt_timer_start(rt, 100000, 0, on_fire, &fired, count_drop, &t));
    CHECK_OK(rt_timer_start(rt, 100000, 5, on_fire, &fired, count_drop, NULL));
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 2);
    CHECK_ST(rt_timer_stop(t), RT_ERR_SHUTDOWN);
    rt_timer_free(t);
    rt_timer *t2 = NULL;
    CHECK_ST(rt_timer_start(rt, 1, 0, on_fire, &drops, count_drop, &t2), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_timer_start_on(q, 1, 0, on_fire, &drops, count_drop, &t2), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_timer_start_on(q, 1, 0, NULL, &drops, count_drop, &t2), RT_ERR_NULL);
    CHECK(t2 == NULL);
    CHECK_EQ(atomic_load(&drops), 2);
    rt_queue_free(q);
    rt_runtime_free(rt);
}

/* timers on a queue never overlap with the queue's other work */
static atomic_int q_inside, q_overlap, q_ticks;
static void q_tick(void *arg) {
    (void)arg;
    if (atomic_fetch_add(&q_inside, 1)) atomic_fetch_add(&q_overlap, 1);
    h_sleep_ms(1);
    atomic_fetch_add(&q_ticks, 1);
    atomic_fetch_sub(&q_inside, 1);
}

static void test_timers_on_queue_serialised(void) {
    rt_runtime *rt = h_runtime(4);
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    atomic_store(&q_overlap, 0);
    atomic_store(&q_ticks, 0);
    rt_timer *ts[4];
    for (int i = 0; i < 4; i++) CHECK_OK(rt_timer_start_on(q, 0, 1, q_tick, NULL, NULL, &ts[i]));
    for (int i = 0; i < 50; i++) CHECK_OK(rt_queue_post(q, q_tick, NULL, NULL));
    for (int i = 0; i < 5000 && atomic_load(&q_ticks) < 100; i++) h_sleep_ms(1);
    for (int i = 0; i < 4; i++) rt_timer_free(ts[i]);
    CHECK(atomic_load(&q_ticks) >= 100);
    CHECK_EQ(atomic_load(&q_overlap), 0);
    rt_queue_free(q);
    rt_runtime_free(rt);
}

/* rt_sleep polled from a foreign loop with a callback waker */
static atomic_int sleep_woken;
static void wake_flag(void *d) { atomic_store((atomic_int *)d, 1); }

static void test_sleep_poll(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&sleep_woken, 0);
    rt_waker *w = rt_waker_new(&sleep_woken, wake_flag, NULL);
    rt_sleep *s;
    long long t0 = h_now_ms();
    CHECK_OK(rt_sleep_new(rt, 30, &s));
    CHECK_EQ(rt_sleep_poll(s, w), RT_PENDING);
    CHECK(h_wait_flag(&sleep_woken));
    CHECK_EQ(rt_sleep_poll(s, w), RT_READY);
    CHECK(h_now_ms() - t0 >= 30);
    rt_sleep_free(s);
    /* 0 ms: ready at once (or after one wake) */
    CHECK_OK(rt_sleep_new(rt, 0, &s));
    atomic_store(&sleep_woken, 0);
    if (rt_sleep_poll(s, w) == RT_PENDING) CHECK(h_wait_flag(&sleep_woken));
    CHECK_EQ(rt_sleep_poll(s, w), RT_READY);
    rt_sleep_free(s);
    /* UINT64_MAX: pending, and freeing it is fine */
    CHECK_OK(rt_sleep_new(rt, UINT64_MAX, &s));
    CHECK_EQ(rt_sleep_poll(s, w), RT_PENDING);
    /* errors */
    CHECK_ST(rt_sleep_new(NULL, 1, &s), RT_ERR_NULL);
    CHECK_ST(rt_sleep_new(rt, 1, NULL), RT_ERR_NULL);
    CHECK_EQ(rt_sleep_poll(NULL, w), RT_READY);
    CHECK_EQ(rt_sleep_poll(s, NULL), RT_READY);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(rt_sleep_poll(s, w), RT_READY); /* after shutdown: never hangs */
    CHECK(strstr(rt_last_error(), "shut down") != NULL);
    rt_sleep *s2 = NULL;
    CHECK_ST(rt_sleep_new(rt, 1, &s2), RT_ERR_SHUTDOWN);
    rt_sleep_free(s);
    rt_sleep_free(NULL);
    rt_waker_free(w);
    rt_runtime_free(rt);
}

/* current-thread: timers fire inside run_once on the caller */
static void test_timer_on_current_thread(void) {
    rt_runtime *rt = h_runtime_current_thread();
    atomic_store(&fired, 0);
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 10, 0, on_fire, &fired, NULL, &t));
    for (int i = 0; i < 100 && !atomic_load(&fired); i++) CHECK_OK(rt_runtime_run_once(rt, 50));
    CHECK_EQ(atomic_load(&fired), 1);
    rt_timer_free(t);
    rt_runtime_free(rt);
}

/* a timer whose task never ran is still released by shutdown, while its
 * handle is alive */
static void test_unpolled_timer_released_by_shutdown(void) {
    rt_runtime *rt = h_runtime_current_thread();
    atomic_store(&drops, 0);
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 0, 0, on_fire, NULL, count_drop, &t));
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 1);
    rt_timer_free(t);
    CHECK_EQ(atomic_load(&drops), 1);
    rt_runtime_free(rt);
}

/* A timer's drop_arg, run by rt_timer_stop, may free the timer handle (a
 * context owning its timer). */
typedef struct {
    rt_timer *timer;
} timer_owner;
static void timer_owner_drop(void *arg) {
    timer_owner *o = arg;
    rt_timer_free(o->timer);
    free(o);
    atomic_fetch_add(&drops, 1);
}
static void ignore_fire(void *arg) { (void)arg; }

static void test_drop_arg_may_free_the_timer_in_stop(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&drops, 0);
    timer_owner *o = malloc(sizeof *o);
    CHECK_OK(rt_timer_start(rt, 100000, 0, ignore_fire, o, timer_owner_drop, &o->timer));
    CHECK_OK(rt_timer_stop(o->timer));
    CHECK_EQ(atomic_load(&drops), 1);
    rt_runtime_free(rt);
}

int main(void) {
    RUN(test_one_shot_fires_once_after_delay);
    RUN(test_zero_delay_never_inline);
    RUN(test_repeating_and_sync_stop);
    RUN(test_stop_waits_for_running_callback);
    RUN(test_stop_from_own_callback);
    RUN(test_stop_waits_for_the_tasks_own_release);
    RUN(test_task_stop_never_waits_for_a_foreign_release);
    RUN(test_absurd_delays);
    RUN(test_handleless_timers);
    RUN(test_timer_errors_and_shutdown);
    RUN(test_timers_on_queue_serialised);
    RUN(test_sleep_poll);
    RUN(test_timer_on_current_thread);
    RUN(test_unpolled_timer_released_by_shutdown);
    RUN(test_drop_arg_may_free_the_timer_in_stop);
    DONE();
}
