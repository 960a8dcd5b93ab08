/* serial_queue: a non-thread-safe object (a plain linked list with a
 * counter) is touched only from callbacks posted to one rt_queue, so no
 * lock is needed even on a multi-thread runtime. */
#include <stdio.h>
#include <stdlib.h>
#include "runtime.h"

typedef struct node { int value; struct node *next; } node;
typedef struct { node *head; int count; int in_use; int overlaps; } unsafe_list;

static unsafe_list list; /* only ever touched on the queue */

typedef struct { int value; } push_req;

static void push(void *arg) {
    push_req *r = arg;
    if (list.in_use++) list.overlaps++; /* would detect concurrent access */
    node *n = malloc(sizeof *n);
    n->value = r->value;
    n->next = list.head;
    list.head = n;
    list.count++;
    list.in_use--;
}

static rt_completion *finished;
static void report(void *arg) {
    (void)arg;
    rt_completion_complete(finished, NULL);
}

int main(void) {
    rt_runtime *rt;
    rt_queue *q;
    if (rt_runtime_new(NULL, &rt) != RT_OK || rt_queue_new(rt, &q) != RT_OK) return 1;
    rt_completion_new(&finished);
    for (int i = 0; i < 1000; i++) {
        push_req *r = malloc(sizeof *r);
        r->value = i;
        if (rt_queue_post(q, push, r, free) != RT_OK) return 1;
    }
    rt_queue_post(q, report, NULL, NULL); /* runs after every push */
    rt_completion_wait(finished, RT_FOREVER, NULL);
    int ordered = 1, expect = 999;
    for (node *n = list.head; n; n = n->next, expect--) ordered &= n->value == expect;
    printf("%d pushes, %d overlaps, in order: %s\n", list.count, list.overlaps, ordered ? "yes" : "no");
    while (list.head) {
        node *n = list.head;
        list.head = n->next;
        free(n);
    }
    rt_queue_free(q);
    rt_completion_free(finished);
    rt_runtime_free(rt);
    return list.count == 1000 && list.overlaps == 0 && ordered ? 0 : 1;
}
