/* timers: a one-shot timer, a repeating timer stopped from its own
 * callback, and a repeating timer stopped from main. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include "runtime.h"

static rt_completion *all_done;
static atomic_int pending = 2;

static void finished_one(void) {
    if (atomic_fetch_sub(&pending, 1) == 1) rt_completion_complete(all_done, NULL);
}

static void once(void *arg) {
    printf("one-shot timer fired: %s\n", (const char *)arg);
    finished_one();
}

typedef struct { rt_timer *self; int ticks; } ticker;

static void tick(void *arg) {
    ticker *t = arg;
    printf("tick %d\n", ++t->ticks);
    if (t->ticks == 3) {
        rt_timer_stop(t->self); /* from inside its own callback */
        finished_one();
    }
}

static atomic_int fast_ticks;
static void fast(void *arg) {
    (void)arg;
    atomic_fetch_add(&fast_ticks, 1);
}

int main(void) {
    rt_runtime *rt;
    if (rt_runtime_new(NULL, &rt) != RT_OK || rt_completion_new(&all_done) != RT_OK) return 1;

    rt_timer *one, *rep, *bg;
    ticker t = {NULL, 0};
    if (rt_timer_start(rt, 30, 0, once, "after 30 ms", NULL, &one) != RT_OK) return 1;
    /* `out` is written before rt_timer_start returns, and the first tick is
     * 10 ms away, so the callback always finds t.self set */
    if (rt_timer_start(rt, 10, 10, tick, &t, NULL, &t.self) != RT_OK) return 1;
    rep = t.self;
    if (rt_timer_start(rt, 0, 1, fast, NULL, NULL, &bg) != RT_OK) return 1;

    rt_status st = rt_completion_wait(all_done, 5000, NULL);
    rt_timer_stop(bg); /* synchronous: no `fast` call runs after this */
    int seen = atomic_load(&fast_ticks);
    printf("background timer ticked %d times before it was stopped\n", seen);

    rt_timer_free(one);
    rt_timer_free(rep);
    rt_timer_free(bg);
    rt_completion_free(all_done);
    rt_runtime_free(rt);
    return st == RT_OK && t.ticks == 3 && seen == atomic_load(&fast_ticks) ? 0 : 1;
}
