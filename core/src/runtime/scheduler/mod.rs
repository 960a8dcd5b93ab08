//! The two scheduler flavors behind one handle type.
pub(crate) mod current_thread;
pub(crate) mod multi_thread;

use super::blocking::Spawner;
use super::driver;
use super::metrics::{SchedulerMetrics, WorkerMetrics};
use crate::task::{Id, JoinHandle};
use std::future::Future;
use std::sync::Arc;

/// A cloneable reference to a running scheduler, of either flavor.
#[derive(Clone, Debug)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

impl Handle {
    pub(crate) fn driver(&self) -> &driver::Handle {
        match self {
            Handle::CurrentThread(h) => &h.driver,
            Handle::MultiThread(h) => &h.driver,
        }
    }

    pub(crate) fn blocking_spawner(&self) -> &Spawner {
        match self {
            Handle::CurrentThread(h) => &h.blocking_spawner,
            Handle::MultiThread(h) => &h.blocking_spawner,
        }
    }

    pub(crate) fn spawn<F>(&self, future: F, id: Id) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(h) => current_thread::Handle::spawn(h, future, id),
            Handle::MultiThread(h) => multi_thread::Handle::spawn(h, future, id),
        }
    }

    pub(crate) fn scheduler_metrics(&self) -> &SchedulerMetrics {
        match self {
            Handle::CurrentThread(h) => &h.scheduler_metrics,
            Handle::MultiThread(h) => &h.scheduler_metrics,
        }
    }

    pub(crate) fn worker_metrics(&self, worker: usize) -> &WorkerMetrics {
        match self {
            Handle::CurrentThread(h) => {
                assert_eq!(worker, 0, "worker index out of range");
                &h.worker_metrics
            }
            Handle::MultiThread(h) => &h.worker_metrics[worker],
        }
    }

    pub(crate) fn num_workers(&self) -> usize {
        match self {
            Handle::CurrentThread(_) => 1,
            Handle::MultiThread(h) => h.worker_metrics.len(),
        }
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        match self {
            Handle::CurrentThread(h) => h.num_alive_tasks(),
            Handle::MultiThread(h) => h.num_alive_tasks(),
        }
    }

    pub(crate) fn injection_queue_depth(&self) -> usize {
        match self {
            Handle::CurrentThread(h) => h.injection_queue_depth(),
            Handle::MultiThread(h) => h.injection_queue_depth(),
        }
    }

    pub(crate) fn worker_local_queue_depth(&self, worker: usize) -> usize {
        match self {
            Handle::CurrentThread(h) => h.local_queue_depth(),
            Handle::MultiThread(h) => h.worker_local_queue_depth(worker),
        }
    }
}
