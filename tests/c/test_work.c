/* rt_queue_work / rt_work_cancel: caller-owned work items on the blocking
 * pool. work then done exactly once each, on a pool thread; cancellation
 * of queued items; shutdown cancels what is queued and waits for what
 * runs; errors leave the storage untouched; done may free or requeue its
 * item. */
#include "harness.h"
#include <pthread.h>

typedef struct {
    rt_work w; /* first: the callbacks get its address */
    int in, out;
    pthread_t work_thread, done_thread;
    atomic_int started, works, dones;
    atomic_int status;
    atomic_int *gate; /* if set, work waits until *gate != 0 */
    int free_in_done;
} job;

static atomic_int total_done, total_ok;

static void work_fn(rt_work *w) {
    job *j = (job *)w;
    j->work_thread = pthread_self();
    atomic_store(&j->started, 1);
    if (j->gate) CHECK(h_wait_flag(j->gate));
    j->out = j->in * 3 + 1;
    atomic_fetch_add(&j->works, 1);
}

static void done_fn(rt_work *w, rt_status st) {
    job *j = (job *)w;
    j->done_thread = pthread_self();
    atomic_store(&j->status, (int)st);
    if (st == RT_OK) atomic_fetch_add(&total_ok, 1);
    if (j->free_in_done) {
        free(j); /* the storage is ours again: nothing may touch it now */
    } else {
        atomic_fetch_add(&j->dones, 1);
    }
    atomic_fetch_add(&total_done, 1);
}

static job *new_job(int in) {
    job *j = calloc(1, sizeof *j);
    j->in = in;
    atomic_store(&j->status, -1);
    return j;
}

/* Queues an item whose work waits until *gate != 0, and returns once a
 * pool thread holds it. */
static job *start_gated(rt_runtime *rt, atomic_int *gate) {
    job *j = new_job(0);
    j->gate = gate;
    CHECK_OK(rt_queue_work(rt, &j->w, work_fn, done_fn));
    CHECK(h_wait_flag(&j->started));
    return j;
}

static int wait_total(int n) {
    for (int i = 0; i < 5000 && atomic_load(&total_done) < n; i++) h_sleep_ms(1);
    return atomic_load(&total_done) == n;
}

static void reset(void) {
    atomic_store(&total_done, 0);
    atomic_store(&total_ok, 0);
}

static void test_items_run_then_complete_on_a_pool_thread(void) {
    rt_runtime *rt = h_runtime_pool(1, 4);
    reset();
    enum { N = 2000 };
    static job jobs[N];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < N; i++) {
        jobs[i].in = i;
        CHECK_OK(rt_queue_work(rt, &jobs[i].w, work_fn, done_fn));
    }
    CHECK(wait_total(N));
    CHECK_EQ(atomic_load(&total_ok), N);
    int right = 0;
    for (int i = 0; i < N; i++) {
        right += atomic_load(&jobs[i].works) == 1 && atomic_load(&jobs[i].dones) == 1 &&
                 jobs[i].out == i * 3 + 1 && atomic_load(&jobs[i].status) == RT_OK &&
                 pthread_equal(jobs[i].work_thread, jobs[i].done_thread) &&
                 !pthread_equal(jobs[i].work_thread, pthread_self());
    }
    CHECK_EQ(right, N);
    rt_runtime_free(rt);
}

static void test_done_may_free_its_item(void) {
    rt_runtime *rt = h_runtime_pool(1, 2);
    reset();
    for (int i = 0; i < 500; i++) {
        job *j = new_job(i);
        j->free_in_done = 1;
        CHECK_OK(rt_queue_work(rt, &j->w, work_fn, done_fn));
    }
    CHECK(wait_total(500));
    CHECK_EQ(atomic_load(&total_ok), 500);
    rt_runtime_free(rt); /* valgrind/ASan: no leak, no use after free */
}

/* done queues the same storage again, 100 times. */
static rt_runtime *chain_rt;
static atomic_int chain_left;
static void chain_done(rt_work *w, rt_status st) {
    CHECK_EQ(st, RT_OK);
    if (atomic_fetch_sub(&chain_left, 1) > 1) {
        CHECK_OK(rt_queue_work(chain_rt, w, work_fn, chain_done));
    } else {
        atomic_fetch_add(&total_done, 1);
    }
}

static void test_done_may_requeue_its_item(void) {
    chain_rt = h_runtime_pool(1, 2);
    reset();
    atomic_store(&chain_left, 100);
    job *j = new_job(7);
    CHECK_OK(rt_queue_work(chain_rt, &j->w, work_fn, chain_done));
    CHECK(wait_total(1));
    CHECK_EQ(atomic_load(&j->works), 100);
    CHECK_EQ(atomic_load(&chain_left), 0);
    rt_runtime_free(chain_rt);
    free(j);
}

static void test_cancel_queued_items(void) {
    /* one pool thread, held by a gated item: the rest stay queued */
    rt_runtime *rt = h_runtime_pool(1, 1);
    reset();
    atomic_int gate = 0;
    job *running = start_gated(rt, &gate);
    CHECK_ST(rt_work_cancel(&running->w), RT_ERR_INVALID); /* started */
    job *q[10];
    for (int i = 0; i < 10; i++) {
        q[i] = new_job(i);
        CHECK_OK(rt_queue_work(rt, &q[i]->w, work_fn, done_fn));
    }
    for (int i = 0; i < 10; i += 2) CHECK_OK(rt_work_cancel(&q[i]->w));
    CHECK_ST(rt_work_cancel(&q[0]->w), RT_ERR_INVALID); /* already cancelled */
    atomic_store(&gate, 1);
    CHECK(wait_total(11));
    CHECK_EQ(atomic_load(&running->status), RT_OK);
    for (int i = 0; i < 10; i++) {
        int cancelled = i % 2 == 0;
        CHECK_EQ(atomic_load(&q[i]->status), cancelled ? RT_ERR_CANCELLED : RT_OK);
        CHECK_EQ(atomic_load(&q[i]->works), cancelled ? 0 : 1);
        CHECK_EQ(atomic_load(&q[i]->dones), 1);
    }
    rt_runtime_free(rt);
    free(running);
    for (int i = 0; i < 10; i++) free(q[i]);
}

static void *open_gate_later(void *arg) {
    h_sleep_ms(50);
    atomic_store((atomic_int *)arg, 1);
    return NULL;
}

static void test_free_cancels_queued_and_waits_for_running(void) {
    rt_runtime *rt = h_runtime_pool(1, 1);
    reset();
    atomic_int gate = 0;
    job *running = start_gated(rt, &gate);
    job *q[5];
    for (int i = 0; i < 5; i++) {
        q[i] = new_job(i);
        CHECK_OK(rt_queue_work(rt, &q[i]->w, work_fn, done_fn));
    }
    pthread_t opener;
    pthread_create(&opener, NULL, open_gate_later, &gate);
    rt_runtime_free(rt); /* returns only after every done */
    CHECK_EQ(atomic_load(&total_done), 6);
    CHECK_EQ(atomic_load(&running->status), RT_OK);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(atomic_load(&q[i]->status), RT_ERR_SHUTDOWN);
        CHECK_EQ(atomic_load(&q[i]->works), 0);
        CHECK_EQ(atomic_load(&q[i]->dones), 1);
        free(q[i]);
    }
    pthread_join(opener, NULL);
    free(running);
}

/* Storage kept past done may still be passed to rt_work_cancel: refused
 * (RT_ERR_INVALID) whether the item ran, was cancelled, or was ended by a
 * shutdown; an item ended by a shutdown is not reported cancellable.
 * (Found by the fuzz target: an item cancelled by a shutdown was left
 * marked queued, so a later rt_work_cancel returned RT_OK.) */
static void test_cancel_after_done_is_refused(void) {
    rt_runtime *rt = h_runtime_pool(1, 1);
    reset();
    atomic_int gate = 0;
    job *running = start_gated(rt, &gate);
    job *cancelled = new_job(1), *shut = new_job(2);
    CHECK_OK(rt_queue_work(rt, &cancelled->w, work_fn, done_fn));
    CHECK_OK(rt_queue_work(rt, &shut->w, work_fn, done_fn));
    CHECK_OK(rt_work_cancel(&cancelled->w));
    pthread_t opener;
    pthread_create(&opener, NULL, open_gate_later, &gate);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    pthread_join(opener, NULL);
    CHECK_EQ(atomic_load(&total_done), 3);
    CHECK_EQ(atomic_load(&running->status), RT_OK);
    CHECK_EQ(atomic_load(&cancelled->status), RT_ERR_CANCELLED);
    CHECK_EQ(atomic_load(&shut->status), RT_ERR_SHUTDOWN);
    job *all[3] = {running, cancelled, shut};
    for (int i = 0; i < 3; i++) {
        CHECK_ST(rt_work_cancel(&all[i]->w), RT_ERR_INVALID);
        CHECK_EQ(atomic_load(&all[i]->dones), 1); /* no second done */
    }
    CHECK_EQ(atomic_load(&shut->works), 0);
    rt_runtime_free(rt);
    for (int i = 0; i < 3; i++) free(all[i]);
}

static void test_shutdown_timeout_reports_running_items(void) {
    rt_runtime *rt = h_runtime(1);
    reset();
    atomic_int gate = 0;
    job *j = start_gated(rt, &gate);
    CHECK_ST(rt_runtime_shutdown(rt, 10), RT_ERR_TIMEOUT);
    CHECK_EQ(atomic_load(&j->dones), 0);
    atomic_store(&gate, 1);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER)); /* waits for the rest */
    CHECK_EQ(atomic_load(&j->dones), 1);
    CHECK_EQ(atomic_load(&j->status), RT_OK);
    rt_runtime_free(rt);
    free(j);
}

/* Blocking calls are allowed in work (it runs on the blocking pool), but
 * not in its done. */
static rt_status blocked_st;
static void work_that_blocks(rt_work *w) {
    (void)w;
    rt_completion *c;
    CHECK_OK(rt_completion_new(&c));
    CHECK_OK(rt_completion_complete(c, NULL));
    blocked_st = rt_completion_wait(c, 1000, NULL);
    rt_completion_free(c);
}

/* done, which a shutdown waits for, is refused them (documented on
 * rt_work_done_fn). */
static rt_status done_wait_st;
static void done_that_waits(rt_work *w, rt_status st) {
    rt_completion *c;
    CHECK_OK(rt_completion_new(&c));
    CHECK_OK(rt_completion_complete(c, NULL));
    done_wait_st = rt_completion_wait(c, 0, NULL);
    rt_completion_free(c);
    done_fn(w, st);
}

static void test_work_may_block(void) {
    rt_runtime *rt = h_runtime(1);
    reset();
    blocked_st = RT_ERR_PANIC;
    done_wait_st = RT_ERR_PANIC;
    job *j = new_job(0);
    CHECK_OK(rt_queue_work(rt, &j->w, work_that_blocks, done_that_waits));
    CHECK(wait_total(1));
    CHECK_EQ(blocked_st, RT_OK);
    CHECK_EQ(done_wait_st, RT_ERR_WOULD_DEADLOCK);
    rt_runtime_free(rt);
    free(j);
}

static void test_current_thread_runtime(void) {
    /* the blocking pool runs items without anyone driving the runtime */
    rt_runtime *rt = h_runtime_current_thread();
    reset();
    job *j = new_job(4);
    CHECK_OK(rt_queue_work(rt, &j->w, work_fn, done_fn));
    CHECK(wait_total(1));
    CHECK_EQ(j->out, 13);
    rt_runtime_free(rt);
    free(j);
}

static void test_errors_leave_the_storage_untouched(void) {
    rt_runtime *rt = h_runtime(1);
    reset();
    job j;
    memset(&j, 0xAB, sizeof j);
    job copy = j;
    CHECK_ST(rt_queue_work(NULL, &j.w, work_fn, done_fn), RT_ERR_NULL);
    CHECK_ST(rt_queue_work(rt, NULL, work_fn, done_fn), RT_ERR_NULL);
    CHECK_ST(rt_queue_work(rt, &j.w, NULL, done_fn), RT_ERR_NULL);
    CHECK_ST(rt_queue_work(rt, &j.w, work_fn, NULL), RT_ERR_NULL);
    CHECK(strstr(rt_last_error(), "done") != NULL);
    CHECK_ST(rt_work_cancel(NULL), RT_ERR_NULL);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_ST(rt_queue_work(rt, &j.w, work_fn, done_fn), RT_ERR_SHUTDOWN);
    CHECK(memcmp(&j, &copy, sizeof j) == 0);
    h_sleep_ms(10);
    CHECK_EQ(atomic_load(&total_done), 0); /* no done after an error */
    rt_runtime_free(rt);
}

/* Idle pool threads (kept alive after their work) are not running work:
 * a shutdown that does not wait at all still reports RT_OK. */
static void test_shutdown_with_idle_pool_threads_is_ok(void) {
    rt_runtime *rt = h_runtime_pool(1, 4);
    reset();
    job *j[8];
    for (int i = 0; i < 8; i++) {
        j[i] = new_job(i);
        CHECK_OK(rt_queue_work(rt, &j[i]->w, work_fn, done_fn));
    }
    CHECK(wait_total(8));
    CHECK_OK(rt_runtime_shutdown(rt, 0));
    rt_runtime_free(rt);
    for (int i = 0; i < 8; i++) free(j[i]);
}

/* From inside the runtime's own blocking work, a shutdown would wait for
 * itself: refused; rt_runtime_free hands the shutdown to another thread. */
static rt_runtime *inside_rt;
static rt_status inside_st;
static void work_shuts_down(rt_work *w) {
    (void)w;
    inside_st = rt_runtime_shutdown(inside_rt, RT_FOREVER);
}
static void work_frees(rt_work *w) {
    (void)w;
    rt_runtime_free(inside_rt); /* returns at once; the runtime goes later */
    atomic_fetch_add(&((job *)w)->works, 1);
}

static void test_shutdown_from_own_work_is_refused_and_free_is_handed_off(void) {
    inside_rt = h_runtime(1);
    reset();
    inside_st = RT_OK;
    job *a = new_job(0);
    CHECK_OK(rt_queue_work(inside_rt, &a->w, work_shuts_down, done_fn));
    CHECK(wait_total(1));
    CHECK_EQ(inside_st, RT_ERR_WOULD_DEADLOCK);
    job *b = new_job(0);
    CHECK_OK(rt_queue_work(inside_rt, &b->w, work_frees, done_fn));
    CHECK(wait_total(2)); /* work and done both ran, nothing hung */
    CHECK_EQ(atomic_load(&b->works), 1);
    CHECK_EQ(atomic_load(&b->status), RT_OK);
    h_sleep_ms(50); /* let the helper thread finish the shutdown */
    free(a);
    free(b);
}

int main(void) {
    RUN(test_items_run_then_complete_on_a_pool_thread);
    RUN(test_done_may_free_its_item);
    RUN(test_done_may_requeue_its_item);
    RUN(test_cancel_queued_items);
    RUN(test_free_cancels_queued_and_waits_for_running);
    RUN(test_cancel_after_done_is_refused);
    RUN(test_shutdown_timeout_reports_running_items);
    RUN(test_work_may_block);
    RUN(test_current_thread_runtime);
    RUN(test_errors_leave_the_storage_untouched);
    RUN(test_shutdown_with_idle_pool_threads_is_ok);
    RUN(test_shutdown_from_own_work_is_refused_and_free_is_handed_off);
    DONE();
}
