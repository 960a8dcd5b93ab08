/* hello: create a runtime, spawn a task, join it. */
#include <stdint.h>
#include <stdio.h>
#include "runtime.h"

static void *greet(void *arg) {
    printf("hello from a runtime worker, %s!\n", (const char *)arg);
    return (void *)(intptr_t)42;
}

int main(void) {
    rt_runtime *rt;
    if (rt_runtime_new(NULL, &rt) != RT_OK) {
        fprintf(stderr, "rt_runtime_new: %s\n", rt_last_error());
        return 1;
    }
    rt_task *task;
    if (rt_spawn(rt, greet, "C", NULL, &task) != RT_OK) {
        fprintf(stderr, "rt_spawn: %s\n", rt_last_error());
        rt_runtime_free(rt);
        return 1;
    }
    void *result = NULL;
    rt_status st = rt_task_join(task, RT_FOREVER, &result);
    printf("task finished: %s, result %d (runtime %s)\n", rt_status_str(st), (int)(intptr_t)result,
           rt_version());
    rt_task_free(task);
    rt_runtime_free(rt);
    return st == RT_OK && (intptr_t)result == 42 ? 0 : 1;
}
