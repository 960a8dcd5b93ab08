/* A runtime belongs to the process that created it. A child made by
 * fork() shares the parent's epoll instance but not its memory, and none
 * of its threads: there, registering an fd fails with an error status,
 * running the runtime fails (rather than reading the child's memory at
 * the parent's addresses), and an inherited watch that ends leaves the
 * parent's registration in the shared poll alone. The parent carries on. */
#include "harness.h"
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

int main(void) {
    RUN(test_a_forked_child_cannot_use_or_disturb_the_parents_runtime);
    DONE();
}
