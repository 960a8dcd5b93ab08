/* fd watches on a current-thread loop (rt_runtime_run on this thread),
 * where the watch's registration is level-triggered: each reactor turn
 * reports a still-ready fd again, with no poll(2) per callback. The same
 * contract as on a multi-thread runtime (test_fd.c): called again and again
 * while ready, never when not ready, interest changes take effect, hangups
 * are reported, a stopped watch lets go of its fd. */
#include "harness.h"
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connected AF_UNIX stream pair; `sv[0]` (the watched end) is
 * non-blocking. */
static void socket_pair(int sv[2]) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    h_nonblock(sv[0]);
}

static void stop_loop(void *arg) { CHECK_OK(rt_runtime_stop((rt_runtime *)arg)); }

/* Runs the loop on this thread until `ms` have passed (used to show that
 * nothing more happens). */
static void run_for(rt_runtime *rt, uint64_t ms) {
    CHECK_OK(rt_timer_start(rt, ms, 0, stop_loop, rt, NULL, NULL));
    CHECK_OK(rt_runtime_run(rt));
}

typedef struct {
    rt_runtime *rt;
    const int *value;
    int want;
    int ticks_left;
} until_state;

static void until_tick(void *arg) {
    until_state *u = arg;
    if (*u->value >= u->want || --u->ticks_left <= 0) CHECK_OK(rt_runtime_stop(u->rt));
}

/* Runs the loop on this thread until `*value >= want` (checked every
 * millisecond by a timer), at most about 10 s: waits as long as a loaded
 * machine needs, not a fixed time. */
static void run_until(rt_runtime *rt, const int *value, int want) {
    until_state u = {rt, value, want, 10000};
    rt_timer *t;
    CHECK_OK(rt_timer_start(rt, 1, 1, until_tick, &u, NULL, &t));
    CHECK_OK(rt_runtime_run(rt));
    rt_timer_free(t);
}

typedef struct {
    int calls;
    int drain_at; /* the call that reads everything */
    uint32_t last;
    uint32_t seen; /* every bit any call got */
} count_state;

static void count_cb(void *arg, int fd, uint32_t ready) {
    count_state *s = arg;
    s->calls++;
    s->last = ready;
    s->seen |= ready;
    if (s->calls == s->drain_at) {
        char buf[64];
        while (read(fd, buf, sizeof buf) > 0) {
        }
    }
}

/* Not drained: called on every turn; drained on the 5th call: never
 * again (no call without data), though the loop keeps turning. */
static void test_called_while_ready_and_only_then(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int p[2];
    CHECK(pipe(p) == 0);
    h_nonblock(p[0]);
    count_state s = {.drain_at = 5};
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, count_cb, &s, NULL, &w));
    run_for(rt, 20);
    CHECK_EQ(s.calls, 0); /* nothing to read */
    CHECK(write(p[1], "abc", 3) == 3);
    run_until(rt, &s.calls, 5);
    CHECK_EQ(s.calls, 5);
    run_for(rt, 20);
    CHECK_EQ(s.calls, 5); /* drained: no call without data */
    CHECK_EQ(s.seen, (uint32_t)RT_READABLE);
    /* once per write when the callback drains */
    s.calls = 0;
    s.drain_at = 1;
    for (int k = 1; k <= 3; k++) {
        CHECK(write(p[1], "x", 1) == 1);
        run_until(rt, &s.calls, 1);
        run_for(rt, 10);
        CHECK_EQ(s.calls, 1);
        s.calls = 0;
    }
    rt_watch_free(w);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
}

/* Writable at once; the first call switches the interest to READABLE, so
 * no further WRITABLE call comes (the registration was redone for the new
 * interest) until the peer writes. */
typedef struct {
    rt_watch *w;
    int writes, reads;
    uint32_t last;
} switch_state;

static void switch_cb(void *arg, int fd, uint32_t ready) {
    switch_state *s = arg;
    s->last = ready;
    if (ready & RT_WRITABLE) {
        s->writes++;
        CHECK_OK(rt_watch_set_interest(s->w, RT_READABLE));
    } else if (ready & RT_READABLE) {
        s->reads++;
        char buf[16];
        while (read(fd, buf, sizeof buf) > 0) {
        }
        CHECK_OK(rt_watch_set_interest(s->w, RT_WRITABLE));
    }
}

static void test_interest_switches(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int sv[2];
    socket_pair(sv);
    switch_state s = {0};
    /* the handle is stored before the loop runs, so the first call finds it */
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_WRITABLE, switch_cb, &s, NULL, &s.w));
    run_until(rt, &s.writes, 1);
    run_for(rt, 20);
    CHECK_EQ(s.writes, 1);
    CHECK_EQ(s.reads, 0);
    CHECK(write(sv[1], "z", 1) == 1);
    run_until(rt, &s.writes, 2);
    run_for(rt, 20);
    CHECK_EQ(s.reads, 1);
    /* back to WRITABLE after the read: one more call, which switches again */
    CHECK_EQ(s.writes, 2);
    CHECK_EQ(s.last, (uint32_t)RT_WRITABLE);
    rt_watch_free(s.w);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

/* Both interests at once: the call reports both bits when both hold. */
static void test_both_interests_in_one_call(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int sv[2];
    socket_pair(sv);
    CHECK(write(sv[1], "q", 1) == 1);
    count_state s = {.drain_at = 1};
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE | RT_WRITABLE, count_cb, &s, NULL, &w));
    run_until(rt, &s.calls, 1);
    CHECK(s.calls >= 1);
    CHECK(s.seen == (RT_READABLE | RT_WRITABLE));
    rt_watch_free(w);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

/* The peer closes: RT_HANGUP is reported; the callback stops its watch
 * from inside, and the watch lets go of its duplicate of the fd. */
typedef struct {
    rt_watch *w;
    int calls;
    uint32_t seen;
} hup_state;

static void hup_cb(void *arg, int fd, uint32_t ready) {
    hup_state *s = arg;
    s->calls++;
    s->seen |= ready;
    char buf[16];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    if (ready & RT_HANGUP) CHECK_OK(rt_watch_stop(s->w));
}

static void test_hangup_then_stop_inside(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int before = h_count_dir("/proc/self/fd");
    int sv[2];
    socket_pair(sv);
    hup_state s = {0};
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE, hup_cb, &s, NULL, &s.w));
    close(sv[1]);
    run_until(rt, &s.calls, 1);
    CHECK(s.seen & RT_HANGUP);
    int calls = s.calls;
    run_for(rt, 20);
    CHECK_EQ(s.calls, calls); /* stopped: the still-hung-up fd calls no more */
    /* the watch's task ended and closed its duplicate: only sv[0] is left */
    CHECK_EQ(h_count_dir("/proc/self/fd"), before + 1);
    rt_watch_free(s.w);
    close(sv[0]);
    rt_runtime_free(rt);
}

/* A hung-up fd stays reported; a callback that does not stop its watch is
 * called again on each turn of the loop, not in bursts, and the loop keeps
 * turning (its timers fire), whatever the interest. A second watch on a
 * pipe left readable (called once per turn) paces the turns. */
static int hup_calls, pace_calls, ticks;
static void hup_count_cb(void *arg, int fd, uint32_t ready) {
    (void)arg, (void)fd;
    CHECK(ready & RT_HANGUP);
    hup_calls++;
}
static void pace_cb(void *arg, int fd, uint32_t ready) {
    (void)arg, (void)fd;
    CHECK_EQ(ready, (uint32_t)RT_READABLE);
    pace_calls++;
}
static void tick_cb(void *arg) {
    (void)arg;
    ticks++;
}

static void test_hangup_keeps_the_loop_turning(void) {
    const uint32_t interests[] = {RT_READABLE, RT_WRITABLE, RT_READABLE | RT_WRITABLE};
    for (size_t i = 0; i < sizeof interests / sizeof interests[0]; i++) {
        rt_runtime *rt = h_runtime_current_thread();
        int sv[2], p[2];
        socket_pair(sv);
        CHECK(pipe(p) == 0);
        close(sv[1]);
        CHECK(write(p[1], "x", 1) == 1);
        hup_calls = pace_calls = ticks = 0;
        rt_watch *w, *pw;
        rt_timer *t;
        CHECK_OK(rt_fd_watch(rt, sv[0], interests[i], hup_count_cb, NULL, NULL, &w));
        CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, pace_cb, NULL, NULL, &pw));
        CHECK_OK(rt_timer_start(rt, 1, 1, tick_cb, NULL, NULL, &t));
        alarm(30); /* a loop that stopped turning never returns: fail loudly */
        run_until(rt, &ticks, 20); /* the 1 ms timer keeps firing */
        alarm(0);
        CHECK(ticks >= 20);
        CHECK(hup_calls >= 1);
        CHECK(hup_calls <= 2 * pace_calls + 10);    /* one call per turn */
        rt_timer_free(t);
        rt_watch_free(w);
        rt_watch_free(pw);
        close(sv[0]);
        close(p[0]);
        close(p[1]);
        rt_runtime_free(rt);
    }
}

/* A ping-pong between two watches on one loop: every message arrives,
 * each callback call reads exactly one. */
typedef struct {
    rt_runtime *rt;
    int msgs, empty;
} pp_state;

static void pp_cb(void *arg, int fd, uint32_t ready) {
    pp_state *s = arg;
    (void)ready;
    char buf[8];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        s->empty++;
        return;
    }
    if (++s->msgs < 1000)
        CHECK(write(fd, "x", 1) == 1);
    else
        CHECK_OK(rt_runtime_stop(s->rt));
}

static void test_ping_pong(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int sv[2];
    socket_pair(sv);
    h_nonblock(sv[1]);
    pp_state s = {.rt = rt};
    rt_watch *a, *b;
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE, pp_cb, &s, NULL, &a));
    CHECK_OK(rt_fd_watch(rt, sv[1], RT_READABLE, pp_cb, &s, NULL, &b));
    CHECK(write(sv[0], "x", 1) == 1);
    CHECK_OK(rt_runtime_run(rt));
    CHECK_EQ(s.msgs, 1000);
    CHECK_EQ(s.empty, 0); /* never called without data */
    rt_watch_free(a);
    rt_watch_free(b);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

/* rt_runtime_run_once(RT_FOREVER) returns once an fd callback ran: the
 * callback runs from the reactor with no task polled for it, and that
 * still counts as something having happened. A watchdog stops the loop
 * after 3 s if it does not return. */
static void *write_later(void *arg) {
    h_sleep_ms(30);
    CHECK(write(*(int *)arg, "x", 1) == 1);
    return NULL;
}
static atomic_int run_once_returned;
static void *stop_later(void *arg) {
    for (int i = 0; i < 300 && !atomic_load(&run_once_returned); i++) h_sleep_ms(10);
    if (!atomic_load(&run_once_returned)) (void)rt_runtime_stop((rt_runtime *)arg);
    return NULL;
}

static void test_run_once_forever_returns_after_an_fd_callback(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int sv[2];
    socket_pair(sv);
    count_state s = {0, 1, 0, 0}; /* drains on its first call */
    rt_watch *w;
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE, count_cb, &s, NULL, &w));
    CHECK_OK(rt_runtime_run_once(rt, 0)); /* the watch task registers */
    atomic_store(&run_once_returned, 0);
    pthread_t writer, watchdog;
    pthread_create(&writer, NULL, write_later, &sv[1]);
    pthread_create(&watchdog, NULL, stop_later, rt);
    long long t0 = h_now_ms();
    CHECK_OK(rt_runtime_run_once(rt, RT_FOREVER));
    atomic_store(&run_once_returned, 1);
    long long took = h_now_ms() - t0;
    CHECK_EQ(s.calls, 1);
    CHECK(took < 2000);
    pthread_join(writer, NULL);
    pthread_join(watchdog, NULL);
    rt_watch_free(w);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

int main(void) {
    RUN(test_called_while_ready_and_only_then);
    RUN(test_interest_switches);
    RUN(test_both_interests_in_one_call);
    RUN(test_hangup_then_stop_inside);
    RUN(test_hangup_keeps_the_loop_turning);
    RUN(test_ping_pong);
    RUN(test_run_once_forever_returns_after_an_fd_callback);
    DONE();
}
