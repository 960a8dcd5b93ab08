/* state_machine: a hand-written C future that awaits a sleep and then an
 * fd, driven by a foreign "main loop" (this thread) through a callback
 * waker (rt_waker_new): the runtime calls the wake callback, which
 * signals the loop to poll again. The same poll function could be handed
 * to rt_spawn_future unchanged. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "runtime.h"

/* --- the future --------------------------------------------------------- */
typedef enum { START, SLEEPING, READING, DONE } step;
typedef struct {
    rt_runtime *rt;
    step step;
    rt_sleep *sleep;
    rt_fd *fd;
    int pipe_r;
    char got[32];
} machine;

static rt_poll machine_poll(void *state, const rt_waker *w, void **result) {
    machine *m = state;
    for (;;) {
        switch (m->step) {
        case START:
            if (rt_sleep_new(m->rt, 20, &m->sleep) != RT_OK) return RT_READY;
            m->step = SLEEPING;
            break;
        case SLEEPING:
            if (rt_sleep_poll(m->sleep, w) == RT_PENDING) return RT_PENDING;
            rt_sleep_free(m->sleep);
            m->sleep = NULL;
            printf("machine: slept 20 ms, now waiting for the pipe\n");
            if (rt_fd_register(m->rt, m->pipe_r, &m->fd) != RT_OK) return RT_READY;
            m->step = READING;
            break;
        case READING: {
            uint32_t ready;
            if (rt_fd_poll_ready(m->fd, RT_READABLE, w, &ready) == RT_PENDING) return RT_PENDING;
            ssize_t n = read(m->pipe_r, m->got, sizeof m->got - 1);
            if (n < 0) { /* EAGAIN: spurious readiness, wait for the next edge */
                rt_fd_clear_ready(m->fd, RT_READABLE);
                break;
            }
            m->got[n] = 0;
            rt_fd_free(m->fd);
            m->fd = NULL;
            m->step = DONE;
            *result = m->got;
            return RT_READY;
        }
        case DONE:
            return RT_READY;
        }
    }
}

/* --- a foreign main loop with a callback waker ---------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int woken;

static void on_wake(void *data) { /* any thread */
    (void)data;
    pthread_mutex_lock(&mu);
    woken = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

/* a timer writes to the pipe 50 ms in */
static void write_pipe(void *arg) {
    const char msg[] = "hello through the pipe";
    if (write((int)(intptr_t)arg, msg, sizeof msg - 1) < 0) perror("write");
}

int main(void) {
    rt_runtime *rt;
    if (rt_runtime_new(NULL, &rt) != RT_OK) return 1;
    int p[2];
    if (pipe(p) != 0) return 1;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    rt_timer *t;
    rt_timer_start(rt, 50, 0, write_pipe, (void *)(intptr_t)p[1], NULL, &t);

    machine m = {.rt = rt, .step = START, .pipe_r = p[0]};
    rt_waker *w = rt_waker_new(NULL, on_wake, NULL);
    void *result = NULL;
    int polls = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        woken = 0;
        pthread_mutex_unlock(&mu);
        polls++;
        if (machine_poll(&m, w, &result) == RT_READY) break;
        pthread_mutex_lock(&mu);
        while (!woken) pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
    }
    printf("machine finished after %d polls: \"%s\"\n", polls, result ? (char *)result : "(error)");
    int ok = result && strcmp(result, "hello through the pipe") == 0;
    rt_waker_free(w);
    rt_timer_free(t);
    close(p[0]);
    close(p[1]);
    rt_runtime_free(rt);
    return ok ? 0 : 1;
}
