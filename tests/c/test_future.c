/* C futures (rt_spawn_future), callback wakers (rt_waker_*) and
 * completions (rt_completion_*). */
#include "harness.h"
#include <pthread.h>

/* A future that needs `need` wakes: each poll stores a clone of its waker
 * in a global slot that a test thread wakes. */
typedef struct {
    int polls;
    int need;
} counter_state;

static rt_waker *_Atomic parked;
static atomic_int drops;

static rt_poll count_polls(void *state, const rt_waker *w, void **result) {
    counter_state *s = state;
    if (++s->polls >= s->need) {
        *result = (void *)(intptr_t)s->polls;
        return RT_READY;
    }
    rt_waker *c = rt_waker_clone(w);
    rt_waker *old = atomic_exchange(&parked, c);
    rt_waker_free(old);
    return RT_PENDING;
}

static void drop_state(void *p) {
    atomic_fetch_add(&drops, 1);
    free(p);
}

static void test_future_woken_by_clone(void) {
    rt_runtime *rt = h_runtime(2);
    atomic_store(&drops, 0);
    counter_state *s = calloc(1, sizeof *s);
    s->need = 3;
    rt_task *t;
    CHECK_OK(rt_spawn_future(rt, count_polls, s, drop_state, &t));
    for (int i = 0; i < 2; i++) {
        rt_waker *w = NULL;
        for (int k = 0; k < 5000 && !(w = atomic_exchange(&parked, NULL)); k++) h_sleep_ms(1);
        CHECK(w != NULL);
        if (i == 0) {
            rt_waker_wake_by_ref(w);
            rt_waker_free(w);
        } else {
            rt_waker_wake(w); /* consumes */
        }
    }
    void *r;
    CHECK_OK(rt_task_join(t, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, 3);
    CHECK_EQ(atomic_load(&drops), 1);
    rt_task_free(t);
    rt_runtime_free(rt);
}

static rt_poll never_ready(void *state, const rt_waker *w, void **result) {
    (void)state, (void)w, (void)result;
    return RT_PENDING;
}

static void test_pending_future_dropped_on_abort_and_shutdown(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&drops, 0);
    rt_task *a, *b;
    CHECK_OK(rt_spawn_future(rt, never_ready, calloc(1, 8), drop_state, &a));
    CHECK_OK(rt_spawn_future(rt, never_ready, calloc(1, 8), drop_state, &b));
    CHECK_ST(rt_task_join(a, 20, NULL), RT_ERR_TIMEOUT);
    CHECK_OK(rt_task_abort(a));
    CHECK_ST(rt_task_join(a, RT_FOREVER, NULL), RT_ERR_CANCELLED);
    CHECK_EQ(atomic_load(&drops), 1);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 2);
    CHECK_ST(rt_task_join(b, RT_FOREVER, NULL), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_spawn_future(rt, never_ready, NULL, NULL, NULL), RT_ERR_SHUTDOWN);
    rt_task_free(a);
    rt_task_free(b);
    rt_runtime_free(rt);
}

static atomic_int wakes;
static atomic_int data_drops;
static void on_wake(void *data) { atomic_fetch_add((atomic_int *)data, 1); }
static void on_drop_data(void *data) {
    (void)data;
    atomic_fetch_add(&data_drops, 1);
}

static void test_callback_waker_lifecycle(void) {
    atomic_store(&wakes, 0);
    atomic_store(&data_drops, 0);
    rt_waker *w = rt_waker_new(&wakes, on_wake, on_drop_data);
    CHECK(w != NULL);
    rt_waker *c1 = rt_waker_clone(w);
    rt_waker *c2 = rt_waker_clone(c1);
    rt_waker_wake_by_ref(w);
    rt_waker_wake(c1);
    CHECK_EQ(atomic_load(&wakes), 2);
    rt_waker_free(w);
    CHECK_EQ(atomic_load(&data_drops), 0); /* c2 still alive */
    rt_waker_free(c2);
    CHECK_EQ(atomic_load(&data_drops), 1); /* last clone gone */
    /* errors */
    CHECK(rt_waker_new(NULL, NULL, on_drop_data) == NULL);
    CHECK(strstr(rt_last_error(), "wake") != NULL);
    CHECK_EQ(atomic_load(&data_drops), 1);
    CHECK(rt_waker_clone(NULL) == NULL);
    rt_waker_wake(NULL);
    rt_waker_wake_by_ref(NULL);
    rt_waker_free(NULL);
    /* NULL drop_data is allowed */
    w = rt_waker_new(&wakes, on_wake, NULL);
    rt_waker_wake(w);
    CHECK_EQ(atomic_load(&wakes), 3);
}

static void *complete_later(void *arg) {
    h_sleep_ms(30);
    rt_completion_complete((rt_completion *)arg, (void *)0x1234);
    return NULL;
}

static void test_completion_wait_and_poll(void) {
    rt_completion *c;
    CHECK_OK(rt_completion_new(&c));
    void *v = (void *)1;
    CHECK_ST(rt_completion_wait(c, 0, &v), RT_ERR_TIMEOUT);
    atomic_store(&wakes, 0);
    rt_waker *w = rt_waker_new(&wakes, on_wake, NULL);
    CHECK_EQ(rt_completion_poll(c, w, &v), RT_PENDING);
    CHECK_EQ(rt_completion_poll(c, w, &v), RT_PENDING);
    pthread_t th;
    pthread_create(&th, NULL, complete_later, rt_completion_clone(c));
    CHECK_OK(rt_completion_wait(c, RT_FOREVER, &v));
    CHECK(v == (void *)0x1234);
    pthread_join(th, NULL);
    rt_completion_free(c); /* the thread's clone */
    CHECK_EQ(atomic_load(&wakes), 1); /* registered once, woken once */
    CHECK_EQ(rt_completion_poll(c, w, &v), RT_READY);
    CHECK(v == (void *)0x1234);
    CHECK_OK(rt_completion_wait(c, 0, &v)); /* any number of waiters */
    CHECK_OK(rt_completion_wait(c, UINT64_MAX - 1, NULL));
    CHECK_ST(rt_completion_complete(c, (void *)9), RT_ERR_INVALID); /* first wins */
    CHECK_OK(rt_completion_wait(c, 0, &v));
    CHECK(v == (void *)0x1234);
    rt_waker_free(w);
    rt_completion_free(c);
}

static void test_completion_errors(void) {
    void *v;
    CHECK_ST(rt_completion_new(NULL), RT_ERR_NULL);
    CHECK_ST(rt_completion_complete(NULL, NULL), RT_ERR_NULL);
    CHECK_ST(rt_completion_wait(NULL, 0, &v), RT_ERR_NULL);
    CHECK(rt_completion_clone(NULL) == NULL);
    v = (void *)1;
    CHECK_EQ(rt_completion_poll(NULL, NULL, &v), RT_READY);
    CHECK(v == NULL);
    rt_completion *c;
    CHECK_OK(rt_completion_new(&c));
    CHECK_EQ(rt_completion_poll(c, NULL, &v), RT_READY);
    CHECK(strstr(rt_last_error(), "waker") != NULL);
    rt_completion_free(c);
    rt_completion_free(NULL);
}

static void *wait_inside(void *arg) {
    return (void *)(intptr_t)rt_completion_wait((rt_completion *)arg, RT_FOREVER, NULL);
}

static void test_completion_wait_on_worker_errors(void) {
    rt_runtime *rt = h_runtime(1);
    rt_completion *c;
    CHECK_OK(rt_completion_new(&c));
    rt_task *t;
    CHECK_OK(rt_spawn(rt, wait_inside, c, NULL, &t));
    void *r;
    CHECK_OK(rt_task_join(t, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, RT_ERR_WOULD_DEADLOCK);
    rt_task_free(t);
    rt_completion_free(c);
    rt_runtime_free(rt);
}

/* A C future awaiting another task with rt_task_poll. */
static void *slow_value(void *arg) {
    h_sleep_ms(20);
    return arg;
}
static rt_poll await_task(void *state, const rt_waker *w, void **result) {
    rt_status st;
    void *r;
    if (rt_task_poll((rt_task *)state, w, &st, &r) == RT_PENDING) return RT_PENDING;
    *result = st == RT_OK ? r : NULL;
    return RT_READY;
}
static void free_task(void *t) { rt_task_free(t); }

static void test_future_awaits_task(void) {
    rt_runtime *rt = h_runtime(2);
    rt_task *inner, *outer;
    CHECK_OK(rt_spawn_blocking(rt, slow_value, (void *)77, NULL, &inner));
    CHECK_OK(rt_spawn_future(rt, await_task, inner, free_task, &outer));
    void *r;
    CHECK_OK(rt_task_join(outer, RT_FOREVER, &r));
    CHECK_EQ((intptr_t)r, 77);
    rt_task_free(outer);
    rt_runtime_free(rt);
}

/* A poll function returning neither RT_PENDING nor RT_READY ends its task
 * with RT_ERR_INVALID (state dropped, result NULL), and rt_task_poll /
 * rt_task_join leave `*result` NULL on every failure. */
static atomic_int bad_drops;
static rt_poll bad_poll(void *s, const rt_waker *w, void **r) {
    (void)s, (void)w;
    *r = (void *)0x1;
    int v = 7;
    return (rt_poll)v;
}
static void count_bad_drop(void *p) {
    (void)p;
    atomic_fetch_add(&bad_drops, 1);
}

static void test_poll_fn_returning_another_value_fails_the_task(void) {
    rt_runtime *rt = h_runtime(1);
    atomic_store(&bad_drops, 0);
    rt_task *t;
    CHECK_OK(rt_spawn_future(rt, bad_poll, NULL, count_bad_drop, &t));
    void *r = (void *)0x2;
    CHECK_ST(rt_task_join(t, 5000, &r), RT_ERR_INVALID);
    CHECK(r == NULL);
    CHECK_EQ(atomic_load(&bad_drops), 1);
    /* consumed: a poll now reports RT_ERR_INVALID and a NULL result */
    rt_status st = RT_OK;
    r = (void *)0x3;
    CHECK_EQ(rt_task_poll(t, NULL, &st, &r), RT_READY);
    CHECK_EQ(st, RT_ERR_NULL);
    CHECK(r == NULL);
    rt_task_free(t);
    r = (void *)0x4;
    CHECK_EQ(rt_task_poll(NULL, NULL, &st, &r), RT_READY);
    CHECK(r == NULL);
    rt_runtime_free(rt);
}

int main(void) {
    RUN(test_future_woken_by_clone);
    RUN(test_pending_future_dropped_on_abort_and_shutdown);
    RUN(test_callback_waker_lifecycle);
    RUN(test_completion_wait_and_poll);
    RUN(test_completion_errors);
    RUN(test_completion_wait_on_worker_errors);
    RUN(test_future_awaits_task);
    RUN(test_poll_fn_returning_another_value_fails_the_task);
    DONE();
}
