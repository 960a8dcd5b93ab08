#define _POSIX_C_SOURCE 200809L
/* foreign_callback: a "foreign library" (here: a plain pthread that
 * finishes some work later) reports its result through a callback; the
 * callback completes an rt_completion, and a C future running on the
 * runtime awaits it with rt_completion_poll. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "runtime.h"

/* --- the foreign library: calls `done(user, value)` from its own thread --- */
typedef void (*lib_done_fn)(void *user, int value);
typedef struct { lib_done_fn done; void *user; } lib_request;

static void *lib_worker(void *arg) {
    lib_request *req = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    req->done(req->user, 6 * 7);
    return NULL;
}

/* --- glue: the library's callback hands the result to the runtime --- */
static int lib_result;
static void on_lib_done(void *user, int value) {
    lib_result = value;
    rt_completion_complete((rt_completion *)user, &lib_result);
}

/* --- a task awaiting the completion without blocking a worker --- */
static rt_poll await_result(void *state, const rt_waker *waker, void **result) {
    void *value;
    if (rt_completion_poll((rt_completion *)state, waker, &value) == RT_PENDING) return RT_PENDING;
    *result = value;
    return RT_READY;
}

static void release_completion(void *c) { rt_completion_free(c); }

int main(void) {
    rt_runtime *rt;
    rt_completion *done;
    if (rt_runtime_new(NULL, &rt) != RT_OK || rt_completion_new(&done) != RT_OK) return 1;

    /* the task gets its own reference, released by drop_state */
    rt_task *waiter;
    if (rt_spawn_future(rt, await_result, rt_completion_clone(done), release_completion, &waiter) != RT_OK)
        return 1;

    lib_request req = {on_lib_done, done};
    pthread_t th;
    pthread_create(&th, NULL, lib_worker, &req);

    void *value = NULL;
    rt_status st = rt_task_join(waiter, 5000, &value);
    printf("task got the library's result: %s, %d\n", rt_status_str(st), value ? *(int *)value : -1);
    pthread_join(th, NULL);
    rt_task_free(waiter);
    rt_completion_free(done);
    rt_runtime_free(rt);
    return st == RT_OK && value && *(int *)value == 42 ? 0 : 1;
}
