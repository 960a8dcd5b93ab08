/*
 * common.h - the measuring harness shared by the C benchmark programs
 * (bench_rt.c: libruntime, bench_uv.c: libuv).
 *
 * Each program is run by the driver (benches/src/foreign.rs) as
 *     PROGRAM ROW-ID WORKERS BUDGET-MS PARAM
 * runs one warm-up iteration of the row, then samples iterations until
 * BUDGET-MS has passed and at least MIN_SAMPLES were taken, and prints the
 * one-line result of benches/src/protocol.rs:
 *     BENCH-RESULT metric=time_ns value=<median ns/iteration> samples=N
 *                  checksum=<work proof> peak_rss_kb=<VmHWM> items=<per iteration>
 * Both programs implement the same shapes with the same constants, so the
 * checksum (items handled per iteration, or a sum over the work) must agree.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keep equal to benches/src/foreign.rs. */
#define N_TIMERS 1000000u
#define TIMERS_PER_MS 10000u
#define N_WAKEUPS 10000u
#define N_PINGS 20000u
#define N_WORK 10000u
#define N_CHUNKS 64u
#define CHUNK_ITERS 500000u
#define MIN_SAMPLES 3
#define MAX_SAMPLES 1000

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPU-bound chunk of the fan-out row: a xorshift walk, seeded by the
 * chunk index, whose final state is the chunk's result. */
static inline uint64_t cpu_chunk(uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (uint32_t i = 0; i < CHUNK_ITERS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static inline uint64_t peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A row: runs one iteration with `workers` threads where that applies and
 * returns its checksum. */
typedef uint64_t (*bench_fn)(unsigned workers);

/* Items one iteration of a row handles, by these constants: reported as
 * `items=`, which the driver checks against foreign.rs's count (0: not a
 * throughput row, nothing reported). */
static uint64_t row_items(const char *row) {
    static const struct {
        const char *id;
        uint64_t items;
    } table[] = {
        {"c_million_timers", N_TIMERS}, {"c_wakeups", N_WAKEUPS},  {"c_socketpair_pingpong", N_PINGS},
        {"c_pool_work", N_WORK},        {"c_pool_tasks", N_WORK}, {"c_cpu_fanout", N_CHUNKS},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].id, row) == 0) return table[i].items;
    return 0;
}

typedef struct {
    const char *id;
    bench_fn fn;
} bench_row;

/* Parses argv, runs the row named argv[1] from `rows`, prints the result. */
static int bench_main(int argc, char **argv, const bench_row *rows, size_t nrows) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s ROW WORKERS BUDGET-MS [PARAM]\n", argv[0]);
        return 2;
    }
    unsigned workers = (unsigned)strtoul(argv[2], NULL, 10);
    uint64_t budget_ns = strtoull(argv[3], NULL, 10) * 1000000ull;
    bench_fn fn = NULL;
    for (size_t i = 0; i < nrows; i++)
        if (strcmp(rows[i].id, argv[1]) == 0) fn = rows[i].fn;
    if (!fn) {
        fprintf(stderr, "%s: no row %s\n", argv[0], argv[1]);
        return 2;
    }
    if (workers == 0) workers = 1;
    uint64_t checksum = fn(workers); /* warm-up */
    static uint64_t samples[MAX_SAMPLES];
    size_t n = 0;
    uint64_t start = now_ns();
    while (n < MAX_SAMPLES && (n < MIN_SAMPLES || now_ns() - start < budget_ns)) {
        uint64_t t0 = now_ns();
        uint64_t c = fn(workers);
        samples[n++] = now_ns() - t0;
        if (c != checksum) {
            fprintf(stderr, "%s: checksum changed: %llu vs %llu\n", argv[1],
                    (unsigned long long)checksum, (unsigned long long)c);
            return 1;
        }
    }
    qsort(samples, n, sizeof samples[0], cmp_u64);
    double median = n % 2 ? (double)samples[n / 2]
                          : ((double)samples[n / 2 - 1] + (double)samples[n / 2]) / 2.0;
    printf("BENCH-RESULT metric=time_ns value=%.1f samples=%zu checksum=%llu peak_rss_kb=%llu",
           median, n, (unsigned long long)checksum, (unsigned long long)peak_rss_kb());
    uint64_t items = row_items(argv[1]);
    if (items) printf(" items=%llu", (unsigned long long)items);
    printf("\n");
    fflush(stdout);
    return 0;
}

#endif
