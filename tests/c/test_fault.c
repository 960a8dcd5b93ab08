/* Fault injection at the C boundary: the process runs out of file
 * descriptors (EMFILE).
 *
 * The soft RLIMIT_NOFILE is lowered just above the highest fd in use (the
 * hard limit is kept, as valgrind requires) and the table is filled with
 * dup()s until the kernel answers EMFILE. Checked:
 * - rt_runtime_new (multi-thread and current-thread) returns RT_ERR_IO with
 *   the errno text in rt_last_error(), leaves *out untouched, and with 0..3
 *   fds left never crashes and never leaks what it created before failing;
 * - rt_fd_watch / rt_fd_register on a valid fd (they dup it) return
 *   RT_ERR_IO, the watch's drop_arg is not called (arg stays the caller's);
 * - a watch made before the table filled keeps delivering events;
 * - once fds are free again the same runtime watches fds and a new runtime
 *   builds and runs; the fd and thread counts (/proc/self/fd,
 *   /proc/self/task) are back to where they started.
 * Runs natively, under valgrind and under ASan via ffi/test.sh. */
#define _GNU_SOURCE /* pipe2 */
#include "harness.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Highest open fd below `below` (valgrind keeps its own fds above the soft
 * limit it shows us). */
static int highest_fd_below(long below) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int hi = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        long fd = strtol(e->d_name, NULL, 10);
        if (fd < below && fd > hi) hi = (int)fd;
    }
    closedir(d);
    return hi;
}

static struct rlimit saved_limit;

/* Lowers the soft limit to leave ~32 fds above what is open now. */
static int lower_nofile(void) {
    if (getrlimit(RLIMIT_NOFILE, &saved_limit) != 0) return -1;
    int hi = highest_fd_below((long)saved_limit.rlim_cur);
    if (hi < 0) return -1;
    struct rlimit lim = saved_limit;
    lim.rlim_cur = (rlim_t)hi + 33;
    if (lim.rlim_cur > saved_limit.rlim_cur) lim.rlim_cur = saved_limit.rlim_cur;
    return setrlimit(RLIMIT_NOFILE, &lim);
}

static void restore_nofile(void) { CHECK(setrlimit(RLIMIT_NOFILE, &saved_limit) == 0); }

#define MAX_FILL 4096
static int fill[MAX_FILL];
static int nfill;

/* Fills the fd table with dups of stdin's /dev/null until EMFILE, then
 * closes `left` of them again. Returns 0 if EMFILE was reached. */
static int exhaust(int src, int left) {
    nfill = 0;
    for (;;) {
        int fd = fcntl(src, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            if (errno != EMFILE) return -1;
            break;
        }
        if (nfill == MAX_FILL) return -1; /* the limit did not take effect */
        fill[nfill++] = fd;
    }
    for (; left > 0 && nfill > 0; left--) close(fill[--nfill]);
    return 0;
}

static void release(void) {
    while (nfill > 0) close(fill[--nfill]);
}

static int src_fd = -1;
static int base_fds, base_threads;

/* ThreadSanitizer's runtime starts a background thread of its own at a
 * moment of its choosing, so under TSan (ffi/tsan.sh) only the fd counts are
 * compared; the native, valgrind and ASan runs check the thread counts. */
#ifdef __SANITIZE_THREAD__
#define CHECK_THREADS_BACK() ((void)base_threads)
#else
/* Threads of this process once exiting ones are gone: a thread whose join
 * (or the runtime's wait for it) has returned can stay listed in
 * /proc/self/task for a moment while the kernel finishes its exit, so this
 * waits (up to 10 s) for the count to come down to `expected`, then returns
 * whatever it is. */
static int threads_settled(int expected) {
    int n = h_count_dir("/proc/self/task");
    for (int i = 0; i < 10000 && n > expected; i++) {
        usleep(1000);
        n = h_count_dir("/proc/self/task");
    }
    return n;
}
#define CHECK_THREADS_BACK() CHECK_EQ(threads_settled(base_threads), base_threads)
#endif

static void set_flag(void *p) { atomic_store((atomic_int *)p, 1); }

/* Posts a callback to a fresh queue and waits for it to run. */
static void run_one_callback(rt_runtime *rt, uint32_t flavor) {
    atomic_int ran = 0;
    rt_queue *q = NULL;
    CHECK_OK(rt_queue_new(rt, &q));
    if (!q) return;
    CHECK_OK(rt_queue_post(q, set_flag, &ran, NULL));
    if (flavor == RT_FLAVOR_CURRENT_THREAD) {
        for (int i = 0; i < 5000 && !atomic_load(&ran); i++) (void)rt_runtime_run_once(rt, 1);
    }
    CHECK(h_wait_flag(&ran));
    rt_queue_free(q);
}

static int is_emfile_text(const char *msg) { return strstr(msg, strerror(EMFILE)) != NULL; }

static void test_runtime_new_under_emfile(void) {
    for (int left = 0; left <= 3; left++) {
        for (uint32_t flavor = 0; flavor <= 1; flavor++) {
            rt_config cfg;
            rt_config_init(&cfg);
            cfg.flavor = flavor;
            cfg.worker_threads = flavor == RT_FLAVOR_MULTI_THREAD ? 2 : 0;
            CHECK(exhaust(src_fd, left) == 0);
            rt_runtime *rt = (rt_runtime *)&cfg; /* sentinel: must stay untouched */
            rt_status st = rt_runtime_new(&cfg, &rt);
            if (left == 0) {
                CHECK_EQ(st, RT_ERR_IO);
                CHECK(is_emfile_text(rt_last_error()));
                CHECK(strstr(rt_last_error(), "rt_runtime_new") != NULL);
            }
            if (st == RT_OK) {
                /* Enough fds for the reactor: it must work. */
                run_one_callback(rt, flavor);
                rt_runtime_free(rt);
            } else {
                CHECK_EQ(st, RT_ERR_IO);
                CHECK(rt == (rt_runtime *)&cfg);
            }
            release();
            CHECK_EQ(h_count_dir("/proc/self/fd"), base_fds);
            CHECK_THREADS_BACK();
        }
    }
}

typedef struct {
    atomic_int calls;
    int fd;
} watch_state;

static void on_ready(void *arg, int fd, uint32_t ready) {
    watch_state *s = arg;
    char buf[64];
    CHECK_EQ(fd, s->fd);
    CHECK(ready & RT_READABLE);
    while (read(fd, buf, sizeof buf) > 0) {
    }
    atomic_fetch_add(&s->calls, 1);
}

static atomic_int drops;
static void count_drop(void *p) {
    (void)p;
    atomic_fetch_add(&drops, 1);
}

static void test_fd_watch_under_emfile(void) {
    for (uint32_t flavor = 0; flavor <= 1; flavor++) {
        rt_config cfg;
        rt_config_init(&cfg);
        cfg.flavor = flavor;
        cfg.worker_threads = flavor == RT_FLAVOR_MULTI_THREAD ? 2 : 0;
        rt_runtime *rt = NULL;
        CHECK_OK(rt_runtime_new(&cfg, &rt));
        if (!rt) return;
        int a[2], b[2];
        CHECK(pipe2(a, O_NONBLOCK | O_CLOEXEC) == 0);
        CHECK(pipe2(b, O_NONBLOCK | O_CLOEXEC) == 0);
        /* A watch made before the table fills up. */
        watch_state early = {0};
        early.fd = a[0];
        rt_watch *ew = NULL;
        CHECK_OK(rt_fd_watch(rt, a[0], RT_READABLE, on_ready, &early, NULL, &ew));

        CHECK(exhaust(src_fd, 0) == 0);
        watch_state late = {0};
        late.fd = b[0];
        atomic_store(&drops, 0);
        rt_watch *lw = (rt_watch *)&late;
        CHECK_ST(rt_fd_watch(rt, b[0], RT_READABLE, on_ready, &late, count_drop, &lw), RT_ERR_IO);
        CHECK(is_emfile_text(rt_last_error()));
        CHECK(lw == (rt_watch *)&late);
        CHECK_EQ(atomic_load(&drops), 0); /* arg stays the caller's */
        rt_fd *f = NULL;
        CHECK_ST(rt_fd_register(rt, b[0], &f), RT_ERR_IO);
        CHECK(is_emfile_text(rt_last_error()));
        CHECK(f == NULL);

        /* The early watch still gets events. */
        CHECK(write(a[1], "x", 1) == 1);
        if (flavor == RT_FLAVOR_CURRENT_THREAD) {
            for (int i = 0; i < 5000 && atomic_load(&early.calls) == 0; i++)
                (void)rt_runtime_run_once(rt, 1);
        }
        CHECK(h_wait_flag(&early.calls));

        release();
        /* And new watches work again. */
        CHECK_OK(rt_fd_watch(rt, b[0], RT_READABLE, on_ready, &late, count_drop, &lw));
        CHECK(write(b[1], "y", 1) == 1);
        if (flavor == RT_FLAVOR_CURRENT_THREAD) {
            for (int i = 0; i < 5000 && atomic_load(&late.calls) == 0; i++)
                (void)rt_runtime_run_once(rt, 1);
        }
        CHECK(h_wait_flag(&late.calls));
        CHECK_OK(rt_watch_stop(lw));
        CHECK_EQ(atomic_load(&drops), 1);
        rt_watch_free(lw);
        rt_watch_free(ew);
        rt_runtime_free(rt);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        CHECK_EQ(h_count_dir("/proc/self/fd"), base_fds);
        CHECK_THREADS_BACK();
    }
}

static void test_runtime_works_after_restore(void) {
    rt_runtime *rt = h_runtime(2);
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    watch_state s = {0};
    s.fd = p[0];
    rt_watch *w = NULL;
    CHECK_OK(rt_fd_watch(rt, p[0], RT_READABLE, on_ready, &s, NULL, &w));
    CHECK(write(p[1], "z", 1) == 1);
    CHECK(h_wait_flag(&s.calls));
    rt_watch_free(w);
    rt_runtime_free(rt);
    close(p[0]);
    close(p[1]);
    CHECK_EQ(h_count_dir("/proc/self/fd"), base_fds);
    CHECK_THREADS_BACK();
}

int main(void) {
    src_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (src_fd < 0) return 2;
    base_fds = h_count_dir("/proc/self/fd");
    base_threads = h_count_dir("/proc/self/task");
    if (lower_nofile() != 0) {
        perror("lowering RLIMIT_NOFILE");
        return 2;
    }
    RUN(test_runtime_new_under_emfile);
    RUN(test_fd_watch_under_emfile);
    restore_nofile();
    RUN(test_runtime_works_after_restore);
    close(src_fd);
    DONE();
}
