/*
 * bench_rt.c - our side of the C rows: libruntime (include/runtime.h).
 *
 * The one-loop rows (timers, wakeups, socketpair ping-pong) use the
 * current-thread flavor driven by rt_runtime_run on the calling thread, the
 * same shape as libuv's uv_run. The pool row uses rt_spawn_blocking with the
 * blocking pool capped at 4 threads (libuv's default pool size); the fan-out
 * row uses rt_spawn on a multi-thread runtime with WORKERS workers.
 * Shapes and constants mirror bench_uv.c; see common.h for the protocol.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime.h"

#define OK(expr) CHECK((expr) == RT_OK)

static rt_runtime *rt_current_thread(void) {
    static rt_runtime *rt;
    if (!rt) {
        rt_config cfg;
        rt_config_init(&cfg);
        cfg.flavor = RT_FLAVOR_CURRENT_THREAD;
        OK(rt_runtime_new(&cfg, &rt));
    }
    return rt;
}

/* ---- a million timers ---------------------------------------------------- */

static uint64_t timers_fired;

static void timer_cb(void *arg) {
    rt_runtime *rt = arg;
    if (++timers_fired == N_TIMERS) OK(rt_runtime_stop(rt));
}

static uint64_t million_timers(unsigned workers) {
    (void)workers;
    rt_runtime *rt = rt_current_thread();
    timers_fired = 0;
    for (uint32_t i = 0; i < N_TIMERS; i++)
        OK(rt_timer_start(rt, 1 + i / TIMERS_PER_MS, 0, timer_cb, rt, NULL, NULL));
    OK(rt_runtime_run(rt));
    return timers_fired;
}

/* ---- cross-thread wakeups ------------------------------------------------ */

typedef struct {
    rt_runtime *rt;
    _Atomic(rt_waker *) waker; /* published by the first poll */
    sem_t ack;                 /* posted once per handled wakeup */
    uint64_t handled;
} wake_state;

static enum rt_poll wake_poll(void *state, const rt_waker *w, void **result) {
    wake_state *s = state;
    if (!atomic_load(&s->waker)) {
        atomic_store(&s->waker, rt_waker_clone(w));
        return RT_PENDING;
    }
    s->handled++;
    sem_post(&s->ack);
    if (s->handled == N_WAKEUPS) {
        OK(rt_runtime_stop(s->rt));
        *result = NULL;
        return RT_READY;
    }
    return RT_PENDING;
}

static void *waker_thread(void *arg) {
    wake_state *s = arg;
    rt_waker *w;
    while (!(w = atomic_load(&s->waker))) sched_yield();
    for (uint32_t i = 0; i < N_WAKEUPS; i++) {
        rt_waker_wake_by_ref(w);
        while (sem_wait(&s->ack) != 0) {}
    }
    return NULL;
}

static uint64_t wakeups(unsigned workers) {
    (void)workers;
    wake_state s = {.rt = rt_current_thread(), .handled = 0};
    atomic_init(&s.waker, NULL);
    sem_init(&s.ack, 0, 0);
    OK(rt_spawn_future(s.rt, wake_poll, &s, NULL, NULL));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, waker_thread, &s) == 0);
    OK(rt_runtime_run(s.rt));
    pthread_join(th, NULL);
    rt_waker_free(atomic_load(&s.waker));
    sem_destroy(&s.ack);
    return s.handled;
}

/* ---- socketpair ping-pong via fd callbacks ------------------------------- */

typedef struct {
    rt_runtime *rt;
    uint64_t msgs;
} ping_state;

static void ping_cb(void *arg, int fd, uint32_t ready) {
    ping_state *s = arg;
    (void)ready;
    char buf[64];
    ssize_t n;
    uint64_t got = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) got += (uint64_t)n;
    CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (got == 0) return;
    s->msgs += got;
    if (s->msgs < N_PINGS)
        CHECK(write(fd, "x", 1) == 1);
    else
        OK(rt_runtime_stop(s->rt));
}

static uint64_t pingpong(unsigned workers) {
    (void)workers;
    ping_state s = {.rt = rt_current_thread(), .msgs = 0};
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    rt_watch *w0, *w1;
    OK(rt_fd_watch(s.rt, sv[0], RT_READABLE, ping_cb, &s, NULL, &w0));
    OK(rt_fd_watch(s.rt, sv[1], RT_READABLE, ping_cb, &s, NULL, &w1));
    CHECK(write(sv[0], "x", 1) == 1);
    OK(rt_runtime_run(s.rt));
    rt_watch_free(w0);
    rt_watch_free(w1);
    close(sv[0]);
    close(sv[1]);
    return s.msgs;
}

/* ---- thread-pool work items ---------------------------------------------- */

typedef struct {
    atomic_uint_fast64_t done;
    atomic_uint_fast64_t sum;
    sem_t all_done;
} pool_state;

static void pool_state_init(pool_state *s) {
    atomic_init(&s->done, 0);
    atomic_init(&s->sum, 0);
    sem_init(&s->all_done, 0, 0);
}

/* One item finished with `result` (on a pool thread). */
static void pool_item_done(pool_state *s, enum rt_status st, uintptr_t result) {
    CHECK(st == RT_OK);
    atomic_fetch_add(&s->sum, result);
    if (atomic_fetch_add(&s->done, 1) + 1 == N_WORK) sem_post(&s->all_done);
}

/* Waits for all N_WORK items; returns the sum of their results. */
static uint64_t pool_state_wait(pool_state *s) {
    while (sem_wait(&s->all_done) != 0) {}
    sem_destroy(&s->all_done);
    return atomic_load(&s->sum);
}

static void *work_fn(void *arg) { return (void *)((uintptr_t)arg * 3 + 1); }

static void work_done(void *arg, enum rt_status st, void *result) {
    pool_item_done(arg, st, (uintptr_t)result);
}

static rt_runtime *rt_pool(void) {
    static rt_runtime *rt;
    if (!rt) {
        rt_config cfg;
        rt_config_init(&cfg);
        cfg.worker_threads = 1;
        cfg.max_blocking_threads = 4;
        OK(rt_runtime_new(&cfg, &rt));
    }
    return rt;
}

/* One task handle per item: rt_spawn_blocking + rt_task_on_complete. */
static uint64_t pool_tasks(unsigned workers) {
    (void)workers;
    rt_runtime *rt = rt_pool();
    pool_state s;
    pool_state_init(&s);
    for (uintptr_t i = 0; i < N_WORK; i++) {
        rt_task *t;
        OK(rt_spawn_blocking(rt, work_fn, (void *)i, NULL, &t));
        OK(rt_task_on_complete(t, work_done, &s));
        rt_task_free(t);
    }
    return pool_state_wait(&s);
}

/* Caller-owned items: rt_queue_work, as uv_queue_work. */
typedef struct {
    rt_work w; /* first: the callbacks get its address */
    uintptr_t in, out;
    pool_state *s;
} qitem;

static void qwork_fn(rt_work *w) {
    qitem *q = (qitem *)w;
    q->out = q->in * 3 + 1;
}

static void qdone_fn(rt_work *w, enum rt_status st) {
    qitem *q = (qitem *)w;
    pool_item_done(q->s, st, q->out);
}

static uint64_t pool_work(unsigned workers) {
    (void)workers;
    static qitem items[N_WORK];
    rt_runtime *rt = rt_pool();
    pool_state s;
    pool_state_init(&s);
    for (uintptr_t i = 0; i < N_WORK; i++) {
        items[i].in = i;
        items[i].s = &s;
        OK(rt_queue_work(rt, &items[i].w, qwork_fn, qdone_fn));
    }
    return pool_state_wait(&s);
}

/* ---- CPU-bound fan-out on all workers ------------------------------------ */

static void *chunk_fn(void *arg) { return (void *)(uintptr_t)cpu_chunk((uintptr_t)arg); }

static uint64_t cpu_fanout(unsigned workers) {
    static rt_runtime *rt;
    if (!rt) {
        rt_config cfg;
        rt_config_init(&cfg);
        cfg.worker_threads = workers;
        OK(rt_runtime_new(&cfg, &rt));
    }
    rt_task *tasks[N_CHUNKS];
    for (uintptr_t i = 0; i < N_CHUNKS; i++) OK(rt_spawn(rt, chunk_fn, (void *)i, NULL, &tasks[i]));
    uint64_t sum = 0;
    for (uint32_t i = 0; i < N_CHUNKS; i++) {
        void *r;
        OK(rt_task_join(tasks[i], RT_FOREVER, &r));
        sum += (uintptr_t)r;
        rt_task_free(tasks[i]);
    }
    return sum;
}

int main(int argc, char **argv) {
    static const bench_row rows[] = {
        {"c_million_timers", million_timers},
        {"c_wakeups", wakeups},
        {"c_socketpair_pingpong", pingpong},
        {"c_pool_work", pool_work},
        {"c_pool_tasks", pool_tasks},
        {"c_cpu_fanout", cpu_fanout},
    };
    int rc = bench_main(argc, argv, rows, sizeof rows / sizeof rows[0]);
    fflush(stdout);
    _exit(rc); /* skip teardown, as the Rust children do */
}
