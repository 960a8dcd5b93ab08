/* Serial queues: order, mutual exclusion, posting from callbacks, drop_arg
 * accounting, shutdown. */
#include "harness.h"

static int order_log[2000];
static int order_len;
static atomic_int in_flight, overlaps, drops;

typedef struct { int value; } item;

static void record(void *arg) {
    if (atomic_fetch_add(&in_flight, 1) != 0) atomic_fetch_add(&overlaps, 1);
    /* unsynchronised on purpose: the queue must serialise us; tests that
     * don't reset order_len only count, so never write past the log */
    int slot = order_len++;
    if (slot < (int)(sizeof order_log / sizeof order_log[0])) order_log[slot] = ((item *)arg)->value;
    for (volatile int spin = 0; spin < 200; spin++) {
    }
    atomic_fetch_sub(&in_flight, 1);
}
static void drop_item(void *p) {
    atomic_fetch_add(&drops, 1);
    free(p);
}
static void signal_done(void *arg) { rt_completion_complete((rt_completion *)arg, NULL); }

static void test_fifo_and_one_at_a_time(void) {
    rt_runtime *rt = h_runtime(4);
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    order_len = 0;
    atomic_store(&overlaps, 0);
    atomic_store(&drops, 0);
    for (int i = 0; i < 2000; i++) {
        item *it = malloc(sizeof *it);
        it->value = i;
        CHECK_OK(rt_queue_post(q, record, it, drop_item));
    }
    rt_completion *c;
    CHECK_OK(rt_completion_new(&c));
    CHECK_OK(rt_queue_post(q, signal_done, c, NULL));
    CHECK_OK(rt_completion_wait(c, RT_FOREVER, NULL));
    CHECK_EQ(order_len, 2000);
    CHECK_EQ(atomic_load(&overlaps), 0);
    int sorted = 1;
    for (int i = 0; i < order_len; i++) sorted &= order_log[i] == i;
    CHECK(sorted);
    CHECK_EQ(atomic_load(&drops), 2000);
    rt_completion_free(c);
    rt_queue_free(q);
    rt_runtime_free(rt);
}

/* Two queues run in parallel with each other. */
static atomic_int both_inside;
static void meet(void *arg) {
    atomic_fetch_add(&both_inside, 1);
    for (int i = 0; i < 2000 && atomic_load(&both_inside) < 2; i++) h_sleep_ms(1);
    if (atomic_load(&both_inside) >= 2) atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_different_queues_run_concurrently(void) {
    rt_runtime *rt = h_runtime(2);
    rt_queue *a, *b;
    CHECK_OK(rt_queue_new(rt, &a));
    CHECK_OK(rt_queue_new(rt, &b));
    atomic_int met = 0;
    atomic_store(&both_inside, 0);
    CHECK_OK(rt_queue_post(a, meet, &met, NULL));
    CHECK_OK(rt_queue_post(b, meet, &met, NULL));
    for (int i = 0; i < 5000 && atomic_load(&met) < 2; i++) h_sleep_ms(1);
    CHECK_EQ(atomic_load(&met), 2);
    rt_queue_free(a);
    rt_queue_free(b);
    rt_runtime_free(rt);
}

/* A callback posting to its own queue: never inline. */
typedef struct { rt_queue *q; atomic_int depth; atomic_int runs; atomic_int nested; rt_completion *done; } self_post;
static void repost(void *arg) {
    self_post *s = arg;
    if (atomic_fetch_add(&s->depth, 1) != 0) atomic_fetch_add(&s->nested, 1);
    if (atomic_fetch_add(&s->runs, 1) < 99) {
        CHECK_OK(rt_queue_post(s->q, repost, s, NULL));
    } else {
        rt_completion_complete(s->done, NULL);
    }
    atomic_fetch_sub(&s->depth, 1);
}

static void test_post_from_own_callback(void) {
    rt_runtime *rt = h_runtime(2);
    self_post s = {0};
    CHECK_OK(rt_queue_new(rt, &s.q));
    CHECK_OK(rt_completion_new(&s.done));
    CHECK_OK(rt_queue_post(s.q, repost, &s, NULL));
    CHECK_OK(rt_completion_wait(s.done, RT_FOREVER, NULL));
    CHECK_EQ(atomic_load(&s.runs), 100);
    CHECK_EQ(atomic_load(&s.nested), 0);
    rt_completion_free(s.done);
    rt_queue_free(s.q);
    rt_runtime_free(rt);
}

static atomic_int gate;
static void block_gate(void *arg) {
    (void)arg;
    h_wait_flag(&gate);
}

static void test_shutdown_drops_queued_items(void) {
    rt_runtime *rt = h_runtime(2);
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    CHECK_OK(rt_queue_post(q, block_gate, NULL, NULL));
    for (int i = 0; i < 10; i++) {
        item *it = malloc(sizeof *it);
        it->value = i;
        CHECK_OK(rt_queue_post(q, record, it, drop_item));
    }
    rt_queue_free(q); /* the queue lives on while it has work */
    h_sleep_ms(20);
    atomic_store(&gate, 1);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 10); /* ran or dropped, each exactly once */
    rt_runtime_free(rt);
}

/* rt_runtime_shutdown: "every queued callback that has not run is
 * cancelled", even behind a queue callback that is running at the time (the
 * drainer used to run the rest of its batch after the shutdown returned). */
static atomic_int entered, ran_after;
static void enter_then_block(void *arg) {
    (void)arg;
    atomic_store(&entered, 1);
    h_wait_flag(&gate);
}
static void count_run(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran_after, 1);
}
static void count_drop(void *arg) {
    (void)arg;
    atomic_fetch_add(&drops, 1);
}

static void test_shutdown_cancels_items_behind_a_running_one(void) {
    rt_runtime *rt = h_runtime(2);
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    atomic_store(&gate, 0);
    atomic_store(&drops, 0);
    CHECK_OK(rt_queue_post(q, enter_then_block, NULL, NULL));
    for (int i = 0; i < 10; i++) CHECK_OK(rt_queue_post(q, count_run, NULL, count_drop));
    CHECK(h_wait_flag(&entered));
    /* the running callback holds the shutdown up: it gives up */
    CHECK_ST(rt_runtime_shutdown(rt, 10), RT_ERR_TIMEOUT);
    atomic_store(&gate, 1);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&ran_after), 0);
    CHECK_EQ(atomic_load(&drops), 10);
    CHECK_ST(rt_queue_post(q, count_run, NULL, count_drop), RT_ERR_SHUTDOWN);
    rt_queue_free(q);
    rt_runtime_free(rt);
}

static void test_queue_errors(void) {
    rt_runtime *rt = h_runtime(1);
    rt_queue *q = NULL;
    CHECK_ST(rt_queue_new(NULL, &q), RT_ERR_NULL);
    CHECK_ST(rt_queue_new(rt, NULL), RT_ERR_NULL);
    CHECK_OK(rt_queue_new(rt, &q));
    CHECK_ST(rt_queue_post(NULL, record, NULL, NULL), RT_ERR_NULL);
    CHECK_ST(rt_queue_post(q, NULL, NULL, NULL), RT_ERR_NULL);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    atomic_store(&drops, 0);
    item it = {0};
    CHECK_ST(rt_queue_post(q, record, &it, drop_item), RT_ERR_SHUTDOWN);
    CHECK_EQ(atomic_load(&drops), 0);
    rt_queue *q2 = NULL;
    CHECK_ST(rt_queue_new(rt, &q2), RT_ERR_SHUTDOWN);
    rt_queue_free(q);
    rt_queue_free(NULL);
    rt_runtime_free(rt);
}

int main(void) {
    RUN(test_fifo_and_one_at_a_time);
    RUN(test_different_queues_run_concurrently);
    RUN(test_post_from_own_callback);
    RUN(test_shutdown_drops_queued_items);
    RUN(test_shutdown_cancels_items_behind_a_running_one);
    RUN(test_queue_errors);
    DONE();
}
