/* Status strings, last error, version, configuration, runtime lifecycle
 * and metrics: every success path and every error path. */
#include "harness.h"

static void test_status_str_any_value(void) {
    CHECK(strcmp(rt_status_str(RT_OK), "ok") == 0);
    CHECK(strlen(rt_status_str(RT_ERR_TIMEOUT)) > 0);
    CHECK(strcmp(rt_status_str(-1), "unknown status") == 0);
    CHECK(strcmp(rt_status_str(12345), "unknown status") == 0);
    for (int i = 0; i <= RT_ERR_WOULD_DEADLOCK; i++) CHECK(strcmp(rt_status_str(i), "unknown status") != 0);
}

static void test_status_numbers_are_fixed(void) {
    CHECK_EQ(RT_OK, 0);
    CHECK_EQ(RT_ERR_NULL, 1);
    CHECK_EQ(RT_ERR_INVALID, 2);
    CHECK_EQ(RT_ERR_SHUTDOWN, 3);
    CHECK_EQ(RT_ERR_CANCELLED, 4);
    CHECK_EQ(RT_ERR_PANIC, 5);
    CHECK_EQ(RT_ERR_TIMEOUT, 6);
    CHECK_EQ(RT_ERR_IO, 7);
    CHECK_EQ(RT_ERR_WOULD_DEADLOCK, 8);
}

static void test_version(void) {
    const char *v = rt_version();
    CHECK(v != NULL);
    CHECK(strchr(v, '.') != NULL);
}

static void test_last_error_records_failures(void) {
    CHECK(rt_last_error() != NULL);
    CHECK_ST(rt_runtime_new(NULL, NULL), RT_ERR_NULL);
    CHECK(strstr(rt_last_error(), "rt_runtime_new") != NULL);
    CHECK(strstr(rt_last_error(), "out") != NULL);
}

static void *last_error_on_fresh_thread(void *arg) {
    (void)arg;
    return (void *)(strcmp(rt_last_error(), "") == 0 ? (void *)1 : NULL);
}

static void test_last_error_is_per_thread(void) {
    CHECK_ST(rt_runtime_new(NULL, NULL), RT_ERR_NULL);
    rt_runtime *rt = h_runtime(1);
    rt_task *t = NULL;
    CHECK_OK(rt_spawn_blocking(rt, last_error_on_fresh_thread, NULL, NULL, &t));
    void *res = NULL;
    CHECK_OK(rt_task_join(t, RT_FOREVER, &res));
    CHECK(res == (void *)1);
    rt_task_free(t);
    rt_runtime_free(rt);
}

static void test_config_defaults_and_validation(void) {
    rt_config cfg;
    memset(&cfg, 0xAB, sizeof cfg);
    rt_config_init(&cfg);
    CHECK_EQ(cfg.worker_threads, 0u);
    CHECK_EQ(cfg.flavor, (uint32_t)RT_FLAVOR_MULTI_THREAD);
    CHECK(cfg.thread_name == NULL);
    for (int i = 0; i < 8; i++) CHECK_EQ(cfg.reserved[i], 0u);
    rt_config_init(NULL); /* ignored */

    rt_runtime *rt = NULL;
    cfg.flavor = 77;
    CHECK_ST(rt_runtime_new(&cfg, &rt), RT_ERR_INVALID);
    CHECK(rt == NULL);
    rt_config_init(&cfg);
    cfg.reserved[3] = 1;
    CHECK_ST(rt_runtime_new(&cfg, &rt), RT_ERR_INVALID);
    rt_config_init(&cfg);
    cfg.reserved0 = 1;
    CHECK_ST(rt_runtime_new(&cfg, &rt), RT_ERR_INVALID);
    rt_config_init(&cfg);
    cfg.thread_name = "\xff\xfe";
    CHECK_ST(rt_runtime_new(&cfg, &rt), RT_ERR_INVALID);
    CHECK(rt == NULL);
    /* an absurd worker count is an error, not an allocation that aborts */
    rt_config_init(&cfg);
    cfg.worker_threads = 0xFFFFFFFFu;
    CHECK_ST(rt_runtime_new(&cfg, &rt), RT_ERR_INVALID);
    cfg.worker_threads = 16385;
    CHECK_ST(rt_runtime_new(&cfg, &rt), RT_ERR_INVALID);
    CHECK(rt == NULL);
}

static void test_runtime_new_with_every_option(void) {
    rt_config cfg;
    rt_config_init(&cfg);
    cfg.worker_threads = 2;
    cfg.max_blocking_threads = 4;
    cfg.keep_alive_ms = 100;
    cfg.thread_name = "c-worker";
    rt_runtime *rt = NULL;
    CHECK_OK(rt_runtime_new(&cfg, &rt));
    CHECK(rt != NULL);
    rt_metrics m;
    CHECK_OK(rt_runtime_metrics(rt, &m));
    CHECK_EQ(m.num_workers, 2u);
    rt_runtime_free(rt);

    CHECK_OK(rt_runtime_new(NULL, &rt)); /* NULL config = defaults */
    CHECK_OK(rt_runtime_metrics(rt, &m));
    CHECK(m.num_workers >= 1);
    rt_runtime_free(rt);
}

static void *noop(void *arg) { return arg; }

static void test_metrics_count_spawns(void) {
    rt_runtime *rt = h_runtime(2);
    rt_metrics m0, m1;
    CHECK_OK(rt_runtime_metrics(rt, &m0));
    for (int i = 0; i < 10; i++) {
        rt_task *t;
        CHECK_OK(rt_spawn(rt, noop, NULL, NULL, &t));
        CHECK_OK(rt_task_join(t, RT_FOREVER, NULL));
        rt_task_free(t);
    }
    CHECK_OK(rt_runtime_metrics(rt, &m1));
    CHECK(m1.spawned_tasks_count >= m0.spawned_tasks_count + 10);
    CHECK_ST(rt_runtime_metrics(NULL, &m1), RT_ERR_NULL);
    CHECK_ST(rt_runtime_metrics(rt, NULL), RT_ERR_NULL);
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_ST(rt_runtime_metrics(rt, &m1), RT_ERR_SHUTDOWN);
    rt_runtime_free(rt);
}

static void test_shutdown_is_idempotent(void) {
    rt_runtime *rt = h_runtime(1);
    CHECK_OK(rt_runtime_shutdown(rt, 0));
    CHECK_OK(rt_runtime_shutdown(rt, RT_FOREVER));
    CHECK_OK(rt_runtime_shutdown(rt, 10));
    CHECK_ST(rt_runtime_shutdown(NULL, 0), RT_ERR_NULL);
    rt_runtime_free(rt);
    rt_runtime_free(NULL);
}

static void test_multi_thread_rejects_run(void) {
    rt_runtime *rt = h_runtime(1);
    CHECK_ST(rt_runtime_run(rt), RT_ERR_INVALID);
    CHECK_ST(rt_runtime_run_once(rt, 0), RT_ERR_INVALID);
    CHECK_ST(rt_runtime_stop(rt), RT_ERR_INVALID);
    CHECK_ST(rt_runtime_run(NULL), RT_ERR_NULL);
    CHECK_ST(rt_runtime_run_once(NULL, 0), RT_ERR_NULL);
    CHECK_ST(rt_runtime_stop(NULL), RT_ERR_NULL);
    rt_runtime_free(rt);
}

int main(void) {
    RUN(test_status_str_any_value);
    RUN(test_status_numbers_are_fixed);
    RUN(test_version);
    RUN(test_last_error_records_failures);
    RUN(test_last_error_is_per_thread);
    RUN(test_config_defaults_and_validation);
    RUN(test_runtime_new_with_every_option);
    RUN(test_metrics_count_spawns);
    RUN(test_shutdown_is_idempotent);
    RUN(test_multi_thread_rejects_run);
    DONE();
}
