/* parallel_sum: split a computation into chunks, run them as tasks on the
 * worker pool with rt_spawn, and combine the joined results. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "runtime.h"

#define N 1000000
#define CHUNKS 16

typedef struct {
    const uint32_t *data;
    size_t begin, end;
    uint64_t sum; /* written by the task */
} chunk;

static void *sum_squares(void *arg) {
    chunk *c = arg;
    uint64_t s = 0;
    for (size_t i = c->begin; i < c->end; i++) s += (uint64_t)c->data[i] * c->data[i];
    c->sum = s;
    return c;
}

int main(void) {
    uint32_t *data = malloc(N * sizeof *data);
    if (!data) return 1;
    for (size_t i = 0; i < N; i++) data[i] = (uint32_t)(i % 1000);

    rt_runtime *rt;
    if (rt_runtime_new(NULL, &rt) != RT_OK) return 1;
    chunk chunks[CHUNKS];
    rt_task *tasks[CHUNKS];
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i] = (chunk){data, (size_t)i * N / CHUNKS, (size_t)(i + 1) * N / CHUNKS, 0};
        if (rt_spawn(rt, sum_squares, &chunks[i], NULL, &tasks[i]) != RT_OK) return 1;
    }
    uint64_t total = 0;
    for (int i = 0; i < CHUNKS; i++) {
        void *r;
        if (rt_task_join(tasks[i], RT_FOREVER, &r) != RT_OK) return 1;
        total += ((chunk *)r)->sum;
        rt_task_free(tasks[i]);
    }
    uint64_t expect = 0;
    for (size_t i = 0; i < N; i++) expect += (uint64_t)data[i] * data[i];
    printf("sum of squares over %d chunks: %llu (expected %llu)\n", CHUNKS, (unsigned long long)total,
           (unsigned long long)expect);
    rt_runtime_free(rt);
    free(data);
    return total == expect ? 0 : 1;
}
