/* A runtime belongs to the process that created it. A child made by
 * fork() shares the parent's epoll instance but not its memory, and none
 * of its threads: there, registering an fd fails with an error status,
 * running the runtime fails (rather than reading the child's memory at
 * the parent's addresses), and an inherited watch that ends leaves the
 * parent's registration in the shared poll alone. The parent carries on.
 * And a child forked while the parent's runtime threads are busy can make
 * and use a fresh runtime at once. */
#include "harness.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain_cb(void *arg, int fd, uint32_t ready) {
    int *calls = arg;
    char buf[16];
    (void)ready;
    while (read(fd, buf, sizeof buf) > 0) {
    }
    (*calls)++;
}

/* What the child checks, one bit per failure (its exit status). */
static int child_checks(rt_runtime *rt, rt_watch *inherited, int *calls) {
    int bad = 0;
    int p[2];
    if (pipe(p) != 0) return 1;
    rt_watch *w2 = NULL;
    if (rt_fd_watch(rt, p[0], RT_READABLE, drain_cb, calls, NULL, &w2) == RT_OK) bad |= 2;
    rt_fd *f = NULL;
    if (rt_fd_register(rt, p[0], &f) == RT_OK) bad |= 4;
    /* The inherited watch ends here, so its task drops the registration;
     * then the loop would turn the driver, which must refuse. */
    if (rt_watch_stop(inherited) != RT_OK) bad |= 8;
    if (rt_runtime_run_once(rt, 0) == RT_OK) bad |= 16;
    return bad;
}

static void test_a_forked_child_cannot_use_or_disturb_the_parents_runtime(void) {
    rt_runtime *rt = h_runtime_current_thread();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    h_nonblock(sv[0]);
    int calls = 0;
    rt_watch *w = NULL;
    CHECK_OK(rt_fd_watch(rt, sv[0], RT_READABLE, drain_cb, &calls, NULL, &w));
    CHECK_OK(rt_runtime_run_once(rt, 0));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child_checks(rt, w, &calls));
    CHECK(pid > 0);
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fprintf(stderr, "child checks failed: %#x\n", WEXITSTATUS(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    /* The parent's watch still hears its fd. */
    CHECK(write(sv[1], "x", 1) == 1);
    for (int i = 0; i < 5000 && calls == 0; i++) CHECK_OK(rt_runtime_run_once(rt, 1));
    CHECK_EQ(calls, 1);
    rt_watch_free(w);
    close(sv[0]);
    close(sv[1]);
    rt_runtime_free(rt);
}

static void *tiny_task(void *arg) {
    atomic_fetch_add((atomic_int *)arg, 1);
    return NULL;
}

static void *sleepy_task(void *arg) {
    (void)arg;
    h_sleep_ms(0);
    return NULL;
}

struct churn {
    rt_runtime *rt;
    atomic_int stop;
    atomic_int ran;
};

/* Keeps the parent's workers and blocking threads parking and waking. */
static void *churn_main(void *p) {
    struct churn *c = p;
    while (!atomic_load(&c->stop)) {
        for (int i = 0; i < 64; i++) (void)rt_spawn(c->rt, tiny_task, &c->ran, NULL, NULL);
        (void)rt_spawn_blocking(c->rt, sleepy_task, NULL, NULL, NULL);
        sched_yield();
    }
    return NULL;
}

/* The child: a fresh runtime, one task joined; 0 when it all worked. */
static int fresh_runtime_in_child(void) {
    rt_config cfg;
    rt_config_init(&cfg);
    cfg.worker_threads = 1;
    rt_runtime *rt = NULL;
    if (rt_runtime_new(&cfg, &rt) != RT_OK) return 1;
    atomic_int ran = 0;
    rt_task *t = NULL;
    if (rt_spawn(rt, tiny_task, &ran, NULL, &t) != RT_OK) return 2;
    enum rt_status st = rt_task_join(t, 10000, NULL);
    if (st != RT_OK) {
        fprintf(stderr, "child: rt_task_join: %d (%s)\n", (int)st, rt_last_error());
        return 3;
    }
    rt_task_free(t);
    if (atomic_load(&ran) != 1) return 4;
    rt_runtime_free(rt);
    return 0;
}

/* Runs the child's check and reports its result through `fd`: under
 * valgrind the exit status is valgrind's, which counts the parent's
 * runtime as leaked (its threads are not in the child, so it cannot be
 * freed there). */
static void child_report(int fd) {
    unsigned char code = (unsigned char)fresh_runtime_in_child();
    _exit(write(fd, &code, 1) == 1 ? 0 : 100);
}

/* The runtime's locks used to be parking_lot's, whose parked threads live
 * in one process-wide table guarded by bucket locks: a bucket a parent
 * thread held at the fork stayed locked in the child, and the child's
 * fresh runtime could hang on it (about 2 runs in 7 of this test hung).
 *
 * Not run under gcc's sanitizers: their allocator keeps locks that a fork
 * copies held in the same way (seen: a child's worker blocked in
 * __sanitizer::SizeClassAllocator64::GetFromAllocator), and TSan does not
 * support starting threads after a multi-threaded fork. */
static void test_a_child_forked_while_workers_run_can_use_a_fresh_runtime(void) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SKIP_FORK_STRESS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SKIP_FORK_STRESS 1
#endif
#endif
#ifdef SKIP_FORK_STRESS
    fprintf(stderr, "skip: fork stress under a sanitizer\n");
    return;
#endif
    struct churn c = {.rt = h_runtime_pool(2, 2)};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, churn_main, &c) == 0);
    int hung = 0, failed = 0, forks = 0;
    for (int i = 0; i < 150 && !hung && !failed; i++) {
        int p[2];
        CHECK(pipe(p) == 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) child_report(p[1]);
        CHECK(pid > 0);
        close(p[1]);
        h_nonblock(p[0]);
        forks++;
        long long deadline = h_now_ms() + 20000;
        unsigned char code = 255;
        for (;;) {
            int status = 0;
            (void)read(p[0], &code, 1);
            pid_t done = waitpid(pid, &status, WNOHANG);
            if (done == pid) {
                (void)read(p[0], &code, 1);
                if (code != 0) {
                    fprintf(stderr, "child %d: code %d, status %#x\n", i, code, status);
                    failed++;
                }
                break;
            }
            if (h_now_ms() > deadline) {
                fprintf(stderr, "child %d hung\n", i);
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                hung++;
                break;
            }
            h_sleep_ms(1);
        }
        close(p[0]);
    }
    atomic_store(&c.stop, 1);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(atomic_load(&c.ran) > 0);
    CHECK_EQ(hung, 0);
    CHECK_EQ(failed, 0);
    CHECK_EQ(forks, 150);
    rt_runtime_free(c.rt);
}

int main(void) {
    RUN(test_a_forked_child_cannot_use_or_disturb_the_parents_runtime);
    RUN(test_a_child_forked_while_workers_run_can_use_a_fresh_runtime);
    DONE();
}
