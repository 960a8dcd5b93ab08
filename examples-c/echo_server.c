/* echo_server: a TCP echo server on rt_fd_watch with non-blocking sockets.
 * The listener and every connection are watched on one serial queue, so
 * the server's state needs no locks and a connection's callback can never
 * run before its watch handle is stored. A client thread checks it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "runtime.h"

typedef struct {
    int fd;
    rt_watch *watch;
    char buf[4096];
    size_t len, off; /* pending echo bytes */
} conn;

static rt_queue *queue;
static int connections;

/* drop_arg: runs exactly once when the watch is stopped, by us (EOF) or by
 * the runtime's shutdown; it owns the connection's resources. */
static void conn_drop(void *arg) {
    conn *c = arg;
    rt_watch_free(c->watch); /* NULL (already freed) or the shutdown path */
    close(c->fd);
    free(c);
}

static void conn_close(conn *c) { /* from the connection's own callback */
    rt_watch *w = c->watch;
    c->watch = NULL;
    rt_watch_free(w); /* stops the watch; conn_drop runs when we return */
}

static void conn_ready(void *arg, int fd, uint32_t ready) {
    conn *c = arg;
    if (c->len == 0 && (ready & (RT_READABLE | RT_HANGUP | RT_ERROR))) {
        ssize_t n = read(fd, c->buf, sizeof c->buf);
        if (n > 0) {
            c->len = (size_t)n;
            c->off = 0;
            rt_watch_set_interest(c->watch, RT_WRITABLE);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return;
        }
    }
    if (c->len > 0 && (ready & RT_WRITABLE)) {
        ssize_t n = write(fd, c->buf + c->off, c->len - c->off);
        if (n > 0) c->off += (size_t)n;
        if (c->off == c->len) {
            c->len = 0;
            rt_watch_set_interest(c->watch, RT_READABLE);
        }
    }
}

static void accept_ready(void *arg, int lfd, uint32_t ready) {
    (void)arg, (void)ready;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN: drained (level-triggered: we'd be called again) */
        conn *c = calloc(1, sizeof *c);
        c->fd = fd;
        if (rt_fd_watch_on(queue, fd, RT_READABLE, conn_ready, c, conn_drop, &c->watch) != RT_OK) {
            fprintf(stderr, "watch: %s\n", rt_last_error());
            close(fd);
            free(c);
            continue;
        }
        connections++;
    }
}

static int port;
static void *client(void *arg) {
    (void)arg;
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
        for (int i = 0; i < 5; i++) {
            char msg[64], back[64];
            int n = snprintf(msg, sizeof msg, "message %d on connection %d", i, k);
            if (write(s, msg, (size_t)n) != n) ok = 0;
            int got = 0;
            while (got < n) {
                ssize_t r = read(s, back + got, (size_t)(n - got));
                if (r <= 0) break;
                got += (int)r;
            }
            ok &= got == n && memcmp(msg, back, (size_t)n) == 0;
        }
        close(s);
    }
    return (void *)(intptr_t)ok;
}

int main(void) {
    rt_runtime *rt;
    if (rt_runtime_new(NULL, &rt) != RT_OK || rt_queue_new(rt, &queue) != RT_OK) return 1;

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) != 0)
        return 1;
    port = ntohs(addr.sin_port);

    rt_watch *listener;
    if (rt_fd_watch_on(queue, lfd, RT_READABLE, accept_ready, NULL, NULL, &listener) != RT_OK) {
        fprintf(stderr, "rt_fd_watch_on: %s\n", rt_last_error());
        return 1;
    }
    printf("echo server on 127.0.0.1:%d\n", port);

    pthread_t th;
    void *ok;
    pthread_create(&th, NULL, client, NULL);
    pthread_join(th, &ok);

    rt_watch_free(listener); /* stops synchronously: the fd may be closed now */
    close(lfd);
    rt_queue_free(queue);
    rt_runtime_free(rt); /* stops the remaining watches: conn_drop closes them */
    printf("client round trips: %s (%d connections accepted)\n", ok ? "all echoed" : "FAILED", connections);
    return ok && connections == 3 ? 0 : 1;
}
