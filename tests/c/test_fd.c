/* fd watches (level-triggered callbacks) and fd registrations (polled). */
#include "harness.h"
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>


typedef struct {
    atomic_int calls;
    atomic_int last_ready;
    atomic_int in_cb;
    atomic_int overlap;
    int drain; /* read everything on each call */
    int fd;
} watch_state;

static void on_ready(void *arg, int fd, uint32_t ready) {
    watch_state *s = arg;
    if (atomic_fetch_add(&s->in_cb, 1)) atomic_fetch_add(&s->overlap, 1);
    CHECK_EQ(fd, s->fd);
    atomic_store(&s->last_ready, (int)ready);
    atomic_fetch_add(&s->calls, 1);
    if (s->drain) {
        char buf[256];
        while (read(fd, buf, sizeof buf) > 0) {
        }
    }
    atomic_fetch_sub(&s->in_cb, 1);
}

static atomic_int drops;
static void count_drop(void *p) {
    (void)p;
    atomic_fetch_add(&drops, 1);
}

static void test_level_triggered_repeats_while_ready(void) {
    rt_runtime *rt = h_runtime(2);
    int p[2];
    CHECK(pipe(p) == 0);
    h_nonblock(p[0]);
    watch_state s = {0};
    s.fd = p[0];
    atomic_store(&drops, 0);
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &s, count_drop, &w));
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&s.calls), 0); /* nothing to read yet */
    CHECK(write(p[1], "x", 1) == 1);
    /* not drained: the callback keeps coming */
    for (int i = 0; i < 5000 && atomic_load(&s.calls) < 5; i++) h_sleep_ms(1);
    CHECK(atomic_load(&s.calls) >= 5);
    CHECK(atomic_load(&s.last_ready) & RT_READABLE);
    CHECK_OK(rt_watch_stop(w));
    int n = atomic_load(&s.calls);
    CHECK_EQ(atomic_load(&drops), 1);
    h_sleep_ms(20);
    CHECK_EQ(atomic_load(&s.calls), n); /* synchronous stop */
    CHECK_EQ(atomic_load(&s.overlap), 0);
    rt_watch_free(w);
    CHECK_EQ(atomic_load(&drops), 1);
    close(p[0]); /* never closed by the runtime: closing it here is ours */
    close(p[1]);
    rt_runtime_free(rt);
}

static void test_drained_fd_stops_calling(void) {
    rt_runtime *rt = h_runtime(2);
    int p[2];
    CHECK(pipe(p) == 0);
    h_nonblock(p[0]);
    watch_state s = {0};
    s.fd = p[0];
    s.drain = 1;
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &s, NULL, &w));
    for (int k = 1; k <= 3; k++) {
        CHECK(write(p[1], "abc", 3) == 3);
        for (int i = 0; i < 5000 && atomic_load(&s.calls) < k; i++) h_sleep_ms(1);
        h_sleep_ms(10);
        CHECK_EQ(atomic_load(&s.calls), k); /* once per write when drained */
    }
    rt_watch_free(w);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
}

/* changing interest and stopping from inside the callback */
typedef struct { rt_watch *w; atomic_int reads, writes, drops; int fd; } rw_state;
static void rw_cb(void *arg, int fd, uint32_t ready) {
    rw_state *s = arg;
    (void)fd;
    if (ready & RT_WRITABLE) {
        atomic_fetch_add(&s->writes, 1);
        CHECK_OK(rt_watch_set_interest(s->w, RT_READABLE));
    } else if (ready & RT_READABLE) {
        atomic_fetch_add(&s->reads, 1);
        CHECK_OK(rt_watch_stop(s->w)); /* from inside: no deadlock */
    }
}
static void rw_drop(void *arg) { atomic_fetch_add(&((rw_state *)arg)->drops, 1); }

static atomic_int gate;
static void wait_gate(void *arg) {
    (void)arg;
    h_wait_flag(&gate);
}

static void test_interest_change_and_stop_inside_callback(void) {
    rt_runtime *rt = h_runtime(2);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    h_nonblock(sv[0]);
    rw_state s = {0};
    s.fd = sv[0];
    /* the fd is writable at once: hold the watch's queue busy until the
     * handle is stored, so the callback always finds s.w set */
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    atomic_store(&gate, 0);
    CHECK_OK(rt_queue_post(q, wait_gate, NULL, NULL));
    CHECK_OK(rt_fd_watch_on(q, sv[0], RT_WRITABLE, rw_cb, &s, rw_drop, &s.w));
    atomic_store(&gate, 1);
    for (int i = 0; i < 5000 && atomic_load(&s.writes) < 1; i++) h_sleep_ms(1);
    CHECK_EQ(atomic_load(&s.writes), 1); /* switched to READABLE: no more writes */
    h_sleep_ms(10);
    CHECK_EQ(atomic_load(&s.writes), 1);
    CHECK(write(sv[1], "z", 1) == 1);
    for (int i = 0; i < 5000 && atomic_load(&s.drops) < 1; i++) h_sleep_ms(1);
    CHECK_EQ(atomic_load(&s.reads), 1);
    CHECK_EQ(atomic_load(&s.drops), 1);
    CHECK_OK(rt_watch_stop(s.w)); /* again: idempotent */
    rt_watch_free(s.w);
    rt_queue_free(q);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

/* stop from another thread while the callback runs waits for it */
static atomic_int slow_in, slow_after;
static atomic_int stop_returned;
static void slow_ready(void *arg, int fd, uint32_t ready) {
    (void)arg, (void)fd, (void)ready;
    atomic_store(&slow_in, 1);
    h_sleep_ms(50);
    if (atomic_load(&stop_returned)) atomic_store(&slow_after, 1);
    atomic_store(&slow_in, 0);
}

static void test_stop_from_other_thread_waits(void) {
    rt_runtime *rt = h_runtime(2);
    int p[2];
    CHECK(pipe(p) == 0);
    atomic_store(&slow_in, 0);
    atomic_store(&slow_after, 0);
    atomic_store(&stop_returned, 0);
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, p[1], RT_WRITABLE, slow_ready, NULL, NULL, &w));
    CHECK(h_wait_flag(&slow_in));
    CHECK_OK(rt_watch_stop(w));
    atomic_store(&stop_returned, 1);
    CHECK_EQ(atomic_load(&slow_in), 0);
    h_sleep_ms(60);
    CHECK_EQ(atomic_load(&slow_after), 0);
    rt_watch_free(w);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
}

static void test_hangup_reported(void) {
    rt_runtime *rt = h_runtime(1);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    h_nonblock(sv[0]);
    watch_state s = {0};
    s.fd = sv[0];
    s.drain = 1;
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE, on_ready, &s, NULL, &w));
    close(sv[1]);
    for (int i = 0; i < 5000 && !(atomic_load(&s.last_ready) & RT_HANGUP); i++) h_sleep_ms(1);
    CHECK(atomic_load(&s.last_ready) & RT_HANGUP);
    rt_watch_free(w);
    close(sv[0]);
    rt_runtime_free(rt);
}

static void test_watch_errors(void) {
    rt_runtime *rt = h_runtime(1);
    int p[2];
    CHECK(pipe(p) == 0);
    watch_state s = {0};
    rt_watch *w = NULL, *w2 = NULL;
    atomic_store(&drops, 0);
    CHECK_ST(rt_fd_watch(NULL, p[0], RT_READABLE, on_ready, &s, NULL, &w), RT_ERR_NULL);
    CHECK_ST(rt_fd_watch(rt, p[0], RT_READABLE, NULL, &drops, count_drop, &w), RT_ERR_NULL);
    CHECK_ST(rt_fd_watch(rt, p[0], 0, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    CHECK_ST(rt_fd_watch(rt, p[0], 16, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    CHECK_ST(rt_fd_watch(rt, p[0], RT_READABLE | 0x100, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    CHECK_ST(rt_fd_watch(rt, p[0], RT_HANGUP, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    CHECK_ST(rt_fd_watch(rt, -1, RT_READABLE, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    CHECK_ST(rt_fd_watch(rt, 987654, RT_READABLE, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    int closed = dup(p[0]);
    close(closed);
    CHECK_ST(rt_fd_watch(rt, closed, RT_READABLE, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    /* a regular file cannot be watched */
    FILE *f = tmpfile();
    CHECK_ST(rt_fd_watch(rt, fileno(f), RT_READABLE, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    fclose(f);
    CHECK_ST(rt_fd_watch_on(NULL, p[0], RT_READABLE, on_ready, &drops, count_drop, &w), RT_ERR_NULL);
    CHECK(w == NULL);
    /* watched twice */
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &s, NULL, &w));
    CHECK_ST(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &drops, count_drop, &w2), RT_ERR_INVALID);
    rt_fd *reg = NULL;
    CHECK_ST(rt_fd_register(rt, p[0], &reg), RT_ERR_INVALID);
    CHECK_ST(rt_watch_set_interest(w, 0), RT_ERR_INVALID);
    CHECK_ST(rt_watch_set_interest(w, 64), RT_ERR_INVALID);
    CHECK_ST(rt_watch_set_interest(NULL, RT_READABLE), RT_ERR_NULL);
    CHECK_ST(rt_watch_stop(NULL), RT_ERR_NULL);
    CHECK_OK(rt_watch_stop(w));
    /* after stop the fd can be watched again */
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &s, NULL, &w2));
    rt_watch_free(w);
    rt_watch_free(w2);
    rt_watch_free(NULL);
    CHECK_EQ(atomic_load(&drops), 0); /* failed calls never took ownership */
    rt_queue *q;
    CHECK_OK(rt_queue_new(rt, &q));
    CHECK_ST(rt_fd_watch_on(q, p[0], RT_READABLE, NULL, &drops, count_drop, &w), RT_ERR_NULL);
    CHECK_ST(rt_fd_watch_on(q, p[0], 0, on_ready, &drops, count_drop, &w), RT_ERR_INVALID);
    /* shutdown releases watches; later calls report it */
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &drops, count_drop, &w));
    CHECK_OK(rt_fd_watch(rt, p[1], RT_READABLE, on_ready, &drops, count_drop, NULL));
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 2);
    CHECK_ST(rt_watch_set_interest(w, RT_WRITABLE), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_watch_stop(w), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &drops, count_drop, &w2), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_fd_register(rt, p[0], &reg), RT_ERR_SHUTDOWN);
    CHECK_ST(rt_fd_watch_on(q, p[0], RT_READABLE, on_ready, &drops, count_drop, &w2), RT_ERR_SHUTDOWN);
    CHECK_EQ(atomic_load(&drops), 2);
    rt_queue_free(q);
    rt_watch_free(w);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
}

/* rt_fd: polled readiness with a callback waker */
static atomic_int fd_woken;
static void wake_flag(void *d) { atomic_store((atomic_int *)d, 1); }

static void test_fd_register_poll_clear(void) {
    rt_runtime *rt = h_runtime(1);
    int p[2];
    CHECK(pipe(p) == 0);
    h_nonblock(p[0]);
    rt_fd *f;
    CHECK_OK(rt_fd_register(rt, p[0], &f));
    rt_waker *w = rt_waker_new(&fd_woken, wake_flag, NULL);
    uint32_t ready = 0;
    atomic_store(&fd_woken, 0);
    if (rt_fd_poll_ready(f, RT_READABLE, w, &ready) == RT_READY) {
        /* a fresh registration may report once; drain and clear */
        char b[8];
        CHECK(read(p[0], b, sizeof b) < 0 && errno == EAGAIN);
        rt_fd_clear_ready(f, RT_READABLE);
    }
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, w, &ready), RT_PENDING);
    CHECK(write(p[1], "q", 1) == 1);
    CHECK(h_wait_flag(&fd_woken));
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, w, &ready), RT_READY);
    CHECK(ready & RT_READABLE);
    char b[8];
    CHECK(read(p[0], b, sizeof b) == 1);
    CHECK(read(p[0], b, sizeof b) < 0);
    rt_fd_clear_ready(f, RT_READABLE);
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, w, &ready), RT_PENDING);
    /* errors: never hang */
    CHECK_EQ(rt_fd_poll_ready(NULL, RT_READABLE, w, &ready), RT_READY);
    CHECK_EQ(ready, (uint32_t)RT_ERROR);
    CHECK_EQ(rt_fd_poll_ready(f, 0, w, &ready), RT_READY);
    CHECK_EQ(rt_fd_poll_ready(f, 0x80, w, &ready), RT_READY);
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, NULL, &ready), RT_READY);
    rt_fd_clear_ready(NULL, RT_READABLE);
    rt_fd *f2 = NULL;
    CHECK_ST(rt_fd_register(NULL, p[0], &f2), RT_ERR_NULL);
    CHECK_ST(rt_fd_register(rt, p[0], NULL), RT_ERR_NULL);
    CHECK_ST(rt_fd_register(rt, p[0], &f2), RT_ERR_INVALID); /* twice */
    CHECK_ST(rt_fd_register(rt, -5, &f2), RT_ERR_INVALID);
    rt_fd_free(f);
    CHECK_OK(rt_fd_register(rt, p[0], &f2)); /* free released it */
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(rt_fd_poll_ready(f2, RT_READABLE, w, &ready), RT_READY);
    CHECK_EQ(ready, (uint32_t)RT_ERROR);
    rt_fd_free(f2);
    rt_fd_free(NULL);
    rt_waker_free(w);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
}

/* a watch whose task never ran (current-thread runtime never driven)
 * is still released by shutdown, while its handle is alive */
static void test_unpolled_watch_released_by_shutdown(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int p[2];
    CHECK(pipe(p) == 0);
    atomic_store(&drops, 0);
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, NULL, count_drop, &w));
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_EQ(atomic_load(&drops), 1);
    rt_watch_free(w);
    CHECK_EQ(atomic_load(&drops), 1);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
}

/* A watch or a registration holds one descriptor: its duplicate of the
 * caller's fd, which is what the reactor watches (no second duplicate
 * inside), on both flavors. */
static void test_each_watch_holds_one_descriptor(void) {
    for (int i = 0; i < 2; i++) {
        int base = h_count_dir("/proc/self/fd");
        rt_runtime *rt = i == 0 ? h_runtime(1) : h_runtime_current_thread();
        int p[2], q[2];
        CHECK(pipe(p) == 0);
        CHECK(pipe(q) == 0);
        watch_state s = {0};
        s.fd = p[0];
        int before = h_count_dir("/proc/self/fd");
        rt_watch *w = NULL;
        CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &s, NULL, &w));
        CHECK_EQ(h_count_dir("/proc/self/fd"), before + 1);
        rt_fd *f = NULL;
        CHECK_OK(rt_fd_register(rt, q[0], &f));
        CHECK_EQ(h_count_dir("/proc/self/fd"), before + 2);
        rt_fd_free(f);
        rt_watch_free(w);
        close(p[0]);
        close(p[1]);
        close(q[0]);
        close(q[1]);
        rt_runtime_free(rt);
        CHECK_EQ(h_count_dir("/proc/self/fd"), base);
    }
}

/* rt_fd_clear_ready forgets only what rt_fd_poll_ready reported: it
 * leaves the waker of the last RT_PENDING poll registered (a clear of a
 * direction that was not reported ready is a no-op), and readiness that
 * arrived after the report survives it. */
static void test_clear_ready_keeps_waker_and_later_events(void) {
    rt_runtime *rt = h_runtime(1);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    rt_fd *f;
    CHECK_OK(rt_fd_register(rt, sv[0], &f));
    rt_waker *w = rt_waker_new(&fd_woken, wake_flag, NULL);
    uint32_t ready = 0;
    if (rt_fd_poll_ready(f, RT_READABLE, w, &ready) == RT_READY) rt_fd_clear_ready(f, RT_READABLE);
    atomic_store(&fd_woken, 0);
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, w, &ready), RT_PENDING);
    rt_fd_clear_ready(f, RT_READABLE | RT_WRITABLE);
    CHECK(write(sv[1], "a", 1) == 1);
    CHECK(h_wait_flag(&fd_woken));
    /* reported ready; more data comes before the drain finds EAGAIN */
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, w, &ready), RT_READY);
    char b[8];
    CHECK(read(sv[0], b, sizeof b) == 1);
    CHECK(read(sv[0], b, sizeof b) < 0 && errno == EAGAIN);
    CHECK(write(sv[1], "b", 1) == 1);
    h_sleep_ms(50); /* the reactor has seen the new edge */
    rt_fd_clear_ready(f, RT_READABLE);
    CHECK_EQ(rt_fd_poll_ready(f, RT_READABLE, w, &ready), RT_READY);
    CHECK(read(sv[0], b, sizeof b) == 1);
    rt_waker_free(w);
    rt_fd_free(f);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

/* A C waker's drop_data may call back into the library: the registration
 * drops a replaced waker only after unlocking. */
static rt_fd *reentered_fd;
static atomic_int reentered;
static void drop_reenters(void *d) {
    (void)d;
    rt_fd_clear_ready(reentered_fd, RT_READABLE);
    uint32_t r;
    (void)rt_fd_poll_ready(reentered_fd, RT_WRITABLE, NULL, &r);
    atomic_store(&reentered, 1);
}
static void no_wake(void *d) { (void)d; }

static void test_waker_drop_data_may_reenter_the_registration(void) {
    rt_runtime *rt = h_runtime(1);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK_OK(rt_fd_register(rt, sv[0], &reentered_fd));
    atomic_store(&reentered, 0);
    uint32_t ready;
    rt_waker *w1 = rt_waker_new(NULL, no_wake, drop_reenters);
    if (rt_fd_poll_ready(reentered_fd, RT_READABLE, w1, &ready) == RT_READY) {
        rt_fd_clear_ready(reentered_fd, RT_READABLE);
        CHECK_EQ(rt_fd_poll_ready(reentered_fd, RT_READABLE, w1, &ready), RT_PENDING);
    }
    rt_waker_free(w1); /* the registration holds the last reference */
    rt_waker *w2 = rt_waker_new(NULL, no_wake, NULL);
    CHECK_EQ(rt_fd_poll_ready(reentered_fd, RT_READABLE, w2, &ready), RT_PENDING);
    CHECK_EQ(atomic_load(&reentered), 1);
    rt_waker_free(w2);
    rt_fd_free(reentered_fd);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

/* A watch's drop_arg, run by rt_watch_stop, may free the watch handle
 * (a connection object owning its watch). */
typedef struct {
    rt_watch *watch;
} watch_owner;
static void owner_drop(void *arg) {
    watch_owner *o = arg;
    rt_watch_free(o->watch);
    free(o);
    atomic_fetch_add(&drops, 1);
}
static void ignore_ready(void *arg, int fd, uint32_t ready) { (void)arg, (void)fd, (void)ready; }

static void test_drop_arg_may_free_the_watch_in_stop(void) {
    rt_runtime *rt = h_runtime(1);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    atomic_store(&drops, 0);
    watch_owner *o = malloc(sizeof *o);
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE, ignore_ready, o, owner_drop, &o->watch));
    CHECK_OK(rt_watch_stop(o->watch));
    CHECK_EQ(atomic_load(&drops), 1);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

int main(void) {
    RUN(test_level_triggered_repeats_while_ready);
    RUN(test_drained_fd_stops_calling);
    RUN(test_interest_change_and_stop_inside_callback);
    RUN(test_stop_from_other_thread_waits);
    RUN(test_hangup_reported);
    RUN(test_watch_errors);
    RUN(test_fd_register_poll_clear);
    RUN(test_unpolled_watch_released_by_shutdown);
    RUN(test_each_watch_holds_one_descriptor);
    RUN(test_clear_ready_keeps_waker_and_later_events);
    RUN(test_waker_drop_data_may_reenter_the_registration);
    RUN(test_drop_arg_may_free_the_watch_in_stop);
    DONE();
}
