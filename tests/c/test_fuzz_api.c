/* Random sequences of C API calls (a seeded, time-bounded fuzz driver; not
 * coverage-guided). Every step picks an operation at random, on a random
 * live handle or on NULL / invalid arguments, and checks that the call
 * answers with a status instead of crashing. At the end every handle is
 * released and the runtime freed, and every drop_arg (and every queued
 * rt_work's done) must have run exactly once. Under valgrind and ASan (ffi/test.sh) this also checks memory.
 *
 *   FUZZ_SEED=n    seed (default: fixed, so CI is reproducible)
 *   FUZZ_STEPS=n   steps per round (default 4000)
 *   FUZZ_ROUNDS=n  rounds, each on a fresh runtime of a random flavor (default 8)
 */
#include "harness.h"
#include <fcntl.h>
#include <unistd.h>

#define MAXH 32

static atomic_int created, dropped, ran;
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void *new_arg(void) {
    atomic_fetch_add(&created, 1);
    return malloc(16);
}
static void drop_arg(void *p) {
    atomic_fetch_add(&dropped, 1);
    free(p);
}
static void *task_fn(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return NULL;
}
static void timer_cb(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
}
static void watch_cb(void *arg, int fd, uint32_t ready) {
    (void)arg;
    (void)ready;
    char buf[64];
    /* Drain so a level-triggered watch does not spin forever. */
    if (read(fd, buf, sizeof buf) < 0) {
    }
}

/* A caller-owned rt_queue_work item; freed by the driver once done ran. */
typedef struct {
    rt_work w;
    atomic_int dones;
} witem;
static atomic_int work_dones;
static void witem_work(rt_work *w) {
    (void)w;
    atomic_fetch_add(&ran, 1);
}
static void witem_done(rt_work *w, rt_status st) {
    CHECK(st == RT_OK || st == RT_ERR_CANCELLED || st == RT_ERR_SHUTDOWN);
    CHECK_EQ(atomic_fetch_add(&((witem *)w)->dones, 1), 0); /* exactly once */
    atomic_fetch_add(&work_dones, 1);
}

typedef struct {
    witem *works[MAXH];
    rt_task *tasks[MAXH];
    rt_timer *timers[MAXH];
    rt_completion *comps[MAXH];
    rt_queue *queues[MAXH];
    rt_watch *watches[MAXH];
    int pipes[MAXH][2];
} pool;

#define TAKE(arr) (arr[rnd(MAXH)])

static int valid_status(rt_status st) { return (int)st >= 0 && (int)st <= 8; }

static void step(rt_runtime *rt, pool *p) {
    unsigned i = rnd(MAXH);
    rt_status st = RT_OK;
    switch (rnd(19)) {
    case 0:
        if (!p->tasks[i]) st = rt_spawn(rt, task_fn, new_arg(), drop_arg, &p->tasks[i]);
        break;
    case 1:
        if (!p->tasks[i]) st = rt_spawn_blocking(rt, task_fn, new_arg(), drop_arg, &p->tasks[i]);
        break;
    case 2:
        if (p->tasks[i]) st = rt_task_abort(p->tasks[i]);
        break;
    case 3:
        if (p->tasks[i]) {
            void *res;
            st = rt_task_join(p->tasks[i], rnd(2), &res);
        }
        break;
    case 4:
        if (p->tasks[i]) {
            (void)rt_task_is_finished(p->tasks[i]);
            rt_task_free(p->tasks[i]);
            p->tasks[i] = NULL;
        }
        break;
    case 5:
        if (!p->timers[i])
            st = rt_timer_start(rt, rnd(4), rnd(2) ? 0 : 1 + rnd(3), timer_cb, new_arg(), drop_arg,
                                &p->timers[i]);
        break;
    case 6:
        if (p->timers[i]) st = rt_timer_stop(p->timers[i]);
        break;
    case 7:
        if (p->timers[i]) {
            rt_timer_free(p->timers[i]);
            p->timers[i] = NULL;
        }
        break;
    case 8:
        if (!p->comps[i]) st = rt_completion_new(&p->comps[i]);
        else st = rt_completion_complete(p->comps[i], NULL);
        break;
    case 9:
        if (p->comps[i]) {
            void *v;
            st = rt_completion_wait(p->comps[i], 0, &v);
            if (rnd(2)) {
                rt_completion_free(p->comps[i]);
                p->comps[i] = NULL;
            }
        }
        break;
    case 10:
        if (!p->queues[i]) st = rt_queue_new(rt, &p->queues[i]);
        else st = rt_queue_post(p->queues[i], timer_cb, new_arg(), drop_arg);
        break;
    case 11:
        if (p->queues[i]) {
            rt_queue_free(p->queues[i]);
            p->queues[i] = NULL;
        }
        break;
    case 12:
        if (!p->watches[i] && p->pipes[i][0] < 0 && pipe(p->pipes[i]) == 0) {
            fcntl(p->pipes[i][0], F_SETFL, O_NONBLOCK);
            st = rt_fd_watch(rt, p->pipes[i][0], RT_READABLE, watch_cb, new_arg(), drop_arg,
                             &p->watches[i]);
        }
        break;
    case 13:
        if (p->pipes[i][1] >= 0 && write(p->pipes[i][1], "x", 1) < 0) {
        }
        if (p->watches[i]) st = rt_watch_set_interest(p->watches[i], rnd(64)); /* unknown bits too */
        break;
    case 14:
        if (p->watches[i]) {
            st = rt_watch_stop(p->watches[i]);
            rt_watch_free(p->watches[i]);
            p->watches[i] = NULL;
            close(p->pipes[i][0]);
            close(p->pipes[i][1]);
            p->pipes[i][0] = p->pipes[i][1] = -1;
        }
        break;
    case 15: /* hostile arguments: must be refused, never crash */
        CHECK_EQ(rt_spawn(NULL, task_fn, NULL, NULL, NULL), RT_ERR_NULL);
        CHECK_EQ(rt_spawn(rt, NULL, NULL, NULL, NULL), RT_ERR_NULL);
        CHECK_EQ(rt_task_abort(NULL), RT_ERR_NULL);
        CHECK_EQ(rt_timer_stop(NULL), RT_ERR_NULL);
        CHECK(rt_fd_watch(rt, -1 - (int)rnd(5), RT_READABLE, watch_cb, NULL, NULL, &p->watches[0]) !=
              RT_OK || (rt_watch_free(p->watches[0]), 0));
        (void)rt_status_str((rt_status)(int32_t)rng_state);
        break;
    case 16: {
        rt_metrics m;
        st = rt_runtime_metrics(rt, &m);
        break;
    }
    case 17: /* caller-owned work items: queue, cancel, free once done */
        if (!p->works[i]) {
            witem *w = calloc(1, sizeof *w);
            st = rt_queue_work(rt, &w->w, witem_work, witem_done);
            if (st == RT_OK) p->works[i] = w;
            else free(w);
        } else if (atomic_load(&p->works[i]->dones)) {
            free(p->works[i]);
            p->works[i] = NULL;
        } else {
            st = rt_work_cancel(&p->works[i]->w); /* RT_ERR_INVALID once started */
        }
        break;
    default:
        /* let the runtime run a little (drives a current-thread runtime) */
        (void)rt_runtime_run_once(rt, 0);
        break;
    }
    CHECK(valid_status(st));
}

static void round_once(unsigned steps) {
    rt_config cfg;
    rt_config_init(&cfg);
    cfg.flavor = rnd(2) ? RT_FLAVOR_MULTI_THREAD : RT_FLAVOR_CURRENT_THREAD;
    cfg.worker_threads = 1 + rnd(3);
    rt_runtime *rt = NULL;
    CHECK_OK(rt_runtime_new(&cfg, &rt));
    if (!rt) return;
    pool p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < MAXH; i++) p.pipes[i][0] = p.pipes[i][1] = -1;
    for (unsigned s = 0; s < steps; s++) step(rt, &p);
    /* Sometimes shut down with everything still live, sometimes clean up
     * first: both orders must release every argument exactly once. */
    if (rnd(2)) CHECK(valid_status(rt_runtime_shutdown(rt, 5000)));
    for (int i = 0; i < MAXH; i++) {
        if (p.tasks[i]) rt_task_free(p.tasks[i]);
        if (p.timers[i]) {
            (void)rt_timer_stop(p.timers[i]);
            rt_timer_free(p.timers[i]);
        }
        if (p.comps[i]) rt_completion_free(p.comps[i]);
        if (p.queues[i]) rt_queue_free(p.queues[i]);
        if (p.watches[i]) {
            (void)rt_watch_stop(p.watches[i]);
            rt_watch_free(p.watches[i]);
        }
        if (p.pipes[i][0] >= 0) {
            close(p.pipes[i][0]);
            close(p.pipes[i][1]);
        }
    }
    rt_runtime_free(rt);
    /* Every queued item's done has run by now, exactly once. */
    for (int i = 0; i < MAXH; i++) {
        if (p.works[i]) {
            CHECK_EQ(atomic_load(&p.works[i]->dones), 1);
            free(p.works[i]);
        }
    }
}

static void test_random_call_sequences(void) {
    const char *seed = getenv("FUZZ_SEED");
    const char *steps = getenv("FUZZ_STEPS");
    const char *rounds = getenv("FUZZ_ROUNDS");
    if (seed) rng_state = strtoull(seed, NULL, 10) | 1;
    unsigned n_steps = steps ? (unsigned)atoi(steps) : 4000;
    unsigned n_rounds = rounds ? (unsigned)atoi(rounds) : 8;
    for (unsigned r = 0; r < n_rounds; r++) round_once(n_steps);
    CHECK_EQ(atomic_load(&created), atomic_load(&dropped));
    printf("fuzz: %u rounds x %u steps, %d arguments created and dropped, %d callbacks ran, "
           "%d work items done\n",
           n_rounds, n_steps, atomic_load(&created), atomic_load(&ran), atomic_load(&work_dones));
}

int main(void) {
    RUN(test_random_call_sequences);
    DONE();
}
