/* A tiny assert harness for the C tests: each test file defines test
 * functions and lists them in main() with RUN(); failures print the file,
 * line and rt_last_error() and count, they do not abort. The last line is
 * "N passed, N failed". */
#ifndef RT_TEST_HARNESS_H
#define RT_TEST_HARNESS_H
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "runtime.h"

static int h_failed_checks;
static int h_passed, h_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n",        \
                    __FILE__, __LINE__, #cond, rt_last_error());                 \
            h_failed_checks++;                                                   \
        }                                                                        \
    } while (0)

#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_ST(call, want)                                                     \
    do {                                                                         \
        rt_status st_ = (call);                                                  \
        if (st_ != (want)) {                                                     \
            fprintf(stderr, "%s:%d: %s returned %d (%s), want %s (last error: %s)\n", \
                    __FILE__, __LINE__, #call, (int)st_, rt_status_str(st_), #want, \
                    rt_last_error());                                            \
            h_failed_checks++;                                                   \
        }                                                                        \
    } while (0)
#define CHECK_OK(call) CHECK_ST(call, RT_OK)

#define RUN(fn)                                                                  \
    do {                                                                         \
        int before_ = h_failed_checks;                                           \
        fn();                                                                    \
        if (h_failed_checks == before_) {                                        \
            h_passed++;                                                          \
            printf("ok   %s\n", #fn);                                            \
        } else {                                                                 \
            h_failed++;                                                          \
            printf("FAIL %s\n", #fn);                                            \
        }                                                                        \
        fflush(stdout);                                                          \
    } while (0)

#define DONE()                                                                   \
    do {                                                                         \
        printf("%d passed, %d failed\n", h_passed, h_failed);                    \
        return h_failed ? 1 : 0;                                                 \
    } while (0)

/* Monotonic milliseconds. */
static inline long long h_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void h_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Spins (sleeping 1 ms) until *flag != 0 or ~5 s pass; returns the flag. */
static inline int h_wait_flag(atomic_int *flag) {
    for (int i = 0; i < 5000 && !atomic_load(flag); i++) h_sleep_ms(1);
    return atomic_load(flag);
}

/* A drop_arg that counts its calls through the int it is given. */
static inline void h_count_drop(void *p) { atomic_fetch_add((atomic_int *)p, 1); }

/* A runtime made from `cfg`; exits the test on failure. */
static inline rt_runtime *h_runtime_new(const rt_config *cfg) {
    rt_runtime *rt = NULL;
    if (rt_runtime_new(cfg, &rt) != RT_OK) {
        fprintf(stderr, "rt_runtime_new failed: %s\n", rt_last_error());
        exit(2);
    }
    return rt;
}

/* A multi-thread runtime with `workers` workers and at most `blocking`
 * blocking-pool threads (0: the default); exits the test on failure. */
static inline rt_runtime *h_runtime_pool(uint32_t workers, uint32_t blocking) {
    rt_config cfg;
    rt_config_init(&cfg);
    cfg.worker_threads = workers;
    cfg.max_blocking_threads = blocking;
    return h_runtime_new(&cfg);
}

/* A current-thread runtime (it runs only inside rt_runtime_run /
 * rt_runtime_run_once on the caller); exits the test on failure. */
static inline rt_runtime *h_runtime_current_thread(void) {
    rt_config cfg;
    rt_config_init(&cfg);
    cfg.flavor = RT_FLAVOR_CURRENT_THREAD;
    return h_runtime_new(&cfg);
}

/* Puts `fd` in non-blocking mode. */
static inline void h_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static inline rt_runtime *h_runtime(uint32_t workers) { return h_runtime_pool(workers, 0); }

/* Entries of a directory such as /proc/self/fd or /proc/self/task, -1 if
 * it cannot be read. */
static inline int h_count_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}
#endif
