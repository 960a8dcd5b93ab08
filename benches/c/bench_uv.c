/*
 * bench_uv.c - the peer's side of the C rows: libuv (Debian's libuv1-dev).
 *
 * The one-loop rows run uv_default_loop() on the calling thread. The pool
 * rows use uv_queue_work with libuv's default pool of 4 threads (set
 * explicitly in main, whatever the environment says); the fan-out
 * row sets UV_THREADPOOL_SIZE=WORKERS before the pool starts, so libuv runs
 * the chunks in parallel too (its pool is the only way libuv spreads work
 * over cores; callbacks still come back to the one loop thread).
 * Shapes and constants mirror bench_rt.c; see common.h for the protocol.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define UVOK(expr) CHECK((expr) == 0)

/* ---- a million timers (libuv's benchmark-million-timers shape) ----------- */

static uint64_t timers_fired;

static void timer_cb(uv_timer_t *t) {
    (void)t;
    timers_fired++;
}

static uint64_t million_timers(unsigned workers) {
    (void)workers;
    static uv_timer_t *timers;
    uv_loop_t *loop = uv_default_loop();
    if (!timers) CHECK((timers = malloc(N_TIMERS * sizeof *timers)) != NULL);
    timers_fired = 0;
    for (uint32_t i = 0; i < N_TIMERS; i++) {
        UVOK(uv_timer_init(loop, &timers[i]));
        UVOK(uv_timer_start(&timers[i], timer_cb, 1 + i / TIMERS_PER_MS, 0));
    }
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    /* Fired one-shot timers are inactive; close them so the memory can be
     * reused by the next iteration (libuv's benchmark does the same). */
    for (uint32_t i = 0; i < N_TIMERS; i++) uv_close((uv_handle_t *)&timers[i], NULL);
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    return timers_fired;
}

/* ---- cross-thread wakeups ------------------------------------------------ */

typedef struct {
    uv_async_t async;
    sem_t ack;
    uint64_t handled;
} wake_state;

static void async_cb(uv_async_t *a) {
    wake_state *s = a->data;
    s->handled++;
    if (s->handled == N_WAKEUPS) uv_close((uv_handle_t *)&s->async, NULL);
    sem_post(&s->ack);
}

static void *waker_thread(void *arg) {
    wake_state *s = arg;
    for (uint32_t i = 0; i < N_WAKEUPS; i++) {
        UVOK(uv_async_send(&s->async));
        while (sem_wait(&s->ack) != 0) {}
    }
    return NULL;
}

static uint64_t wakeups(unsigned workers) {
    (void)workers;
    uv_loop_t *loop = uv_default_loop();
    wake_state s = {.handled = 0};
    sem_init(&s.ack, 0, 0);
    UVOK(uv_async_init(loop, &s.async, async_cb));
    s.async.data = &s;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, waker_thread, &s) == 0);
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    pthread_join(th, NULL);
    sem_destroy(&s.ack);
    return s.handled;
}

/* ---- socketpair ping-pong via fd callbacks ------------------------------- */

typedef struct {
    uv_poll_t poll[2];
    uint64_t msgs;
} ping_state;

static void ping_cb(uv_poll_t *p, int status, int events) {
    ping_state *s = p->data;
    (void)events;
    CHECK(status == 0);
    int fd;
    UVOK(uv_fileno((uv_handle_t *)p, &fd));
    char buf[64];
    ssize_t n;
    uint64_t got = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) got += (uint64_t)n;
    CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (got == 0) return;
    s->msgs += got;
    if (s->msgs < N_PINGS) {
        CHECK(write(fd, "x", 1) == 1);
    } else {
        uv_close((uv_handle_t *)&s->poll[0], NULL);
        uv_close((uv_handle_t *)&s->poll[1], NULL);
    }
}

static uint64_t pingpong(unsigned workers) {
    (void)workers;
    uv_loop_t *loop = uv_default_loop();
    ping_state s = {.msgs = 0};
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    for (int i = 0; i < 2; i++) {
        UVOK(uv_poll_init(loop, &s.poll[i], sv[i]));
        s.poll[i].data = &s;
        UVOK(uv_poll_start(&s.poll[i], UV_READABLE, ping_cb));
    }
    CHECK(write(sv[0], "x", 1) == 1);
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    close(sv[0]);
    close(sv[1]);
    return s.msgs;
}

/* ---- thread-pool work items ---------------------------------------------- */

typedef struct {
    uv_work_t req;
    uintptr_t in, out;
} work_item;

static uint64_t pool_sum, pool_done;

static void work_cb(uv_work_t *req) {
    work_item *w = (work_item *)req;
    w->out = w->in * 3 + 1;
}

static void after_work_cb(uv_work_t *req, int status) {
    CHECK(status == 0);
    pool_sum += ((work_item *)req)->out;
    pool_done++;
}

static uint64_t pool_work(unsigned workers) {
    (void)workers;
    static work_item items[N_WORK];
    uv_loop_t *loop = uv_default_loop();
    pool_sum = pool_done = 0;
    for (uintptr_t i = 0; i < N_WORK; i++) {
        items[i].in = i;
        UVOK(uv_queue_work(loop, &items[i].req, work_cb, after_work_cb));
    }
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    CHECK(pool_done == N_WORK);
    return pool_sum;
}

/* One heap-allocated request per item, freed by its after_work callback:
 * what a libuv program does when each item needs its own object (the
 * counterpart of a task handle per item). */
static void after_work_free_cb(uv_work_t *req, int status) {
    after_work_cb(req, status);
    free(req);
}

static uint64_t pool_tasks(unsigned workers) {
    (void)workers;
    uv_loop_t *loop = uv_default_loop();
    pool_sum = pool_done = 0;
    for (uintptr_t i = 0; i < N_WORK; i++) {
        work_item *w = malloc(sizeof *w);
        CHECK(w != NULL);
        w->in = i;
        UVOK(uv_queue_work(loop, &w->req, work_cb, after_work_free_cb));
    }
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    CHECK(pool_done == N_WORK);
    return pool_sum;
}

/* ---- CPU-bound fan-out over the pool ------------------------------------- */

typedef struct {
    uv_work_t req;
    uint64_t seed, out;
} chunk_item;

static uint64_t fan_sum;

static void chunk_cb(uv_work_t *req) {
    chunk_item *c = (chunk_item *)req;
    c->out = cpu_chunk(c->seed);
}

static void after_chunk_cb(uv_work_t *req, int status) {
    CHECK(status == 0);
    fan_sum += ((chunk_item *)req)->out;
}

static uint64_t cpu_fanout(unsigned workers) {
    (void)workers; /* applied through UV_THREADPOOL_SIZE in main */
    static chunk_item items[N_CHUNKS];
    uv_loop_t *loop = uv_default_loop();
    fan_sum = 0;
    for (uint32_t i = 0; i < N_CHUNKS; i++) {
        items[i].seed = i;
        UVOK(uv_queue_work(loop, &items[i].req, chunk_cb, after_chunk_cb));
    }
    UVOK(uv_run(loop, UV_RUN_DEFAULT));
    return fan_sum;
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
    /* Before the pool starts. The pool rows compare pools of 4 (ours has
     * max_blocking_threads = 4): set libuv's default explicitly, or a
     * UV_THREADPOOL_SIZE inherited from the environment would change it. */
    if (argc > 2 && strcmp(argv[1], "c_cpu_fanout") == 0)
        setenv("UV_THREADPOOL_SIZE", argv[2], 1);
    else
        setenv("UV_THREADPOOL_SIZE", "4", 1);
    int rc = bench_main(argc, argv, rows, sizeof rows / sizeof rows[0]);
    fflush(stdout);
    _exit(rc);
}
