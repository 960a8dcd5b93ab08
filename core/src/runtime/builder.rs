//! `Builder`: configures and creates a [`Runtime`].
//!
//! Invariant: bad settings and OS failures come back from `build()` as
//! `io::Error`s, never as panics; every runtime thread is created through
//! [`thread_builder`], which turns the one input `std` would panic on (a
//! thread name with a NUL byte) into an `InvalidInput` error.
use super::blocking::{BlockingPool, PoolConfig};
use super::driver::{self, Driver};
use super::scheduler::{self, current_thread, multi_thread};
use super::{Handle, Runtime, Scheduler};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The most worker threads a runtime may have. Far above any machine's
/// core count; it keeps a mistaken value (a negative number cast to
/// unsigned, say) an `InvalidInput` error rather than an allocation that
/// aborts the process.
pub const MAX_WORKER_THREADS: usize = 16_384;

/// Builds a [`Runtime`] with custom settings.
///
/// The time and I/O drivers are always on: there is no `enable_all()` to
/// forget.
///
/// ```
/// use runtime_core::runtime::Builder;
/// let rt = Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-pool")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 5 }), 5);
/// ```
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    max_blocking_threads: usize,
    keep_alive: Duration,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    /// Set by `thread_name` when the name has a NUL byte; `build()` fails.
    thread_name_has_nul: bool,
    thread_stack_size: Option<usize>,
    start_paused: bool,
    global_queue_interval: Option<u32>,
    event_interval: u32,
    seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

/// Which scheduler a runtime uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Everything runs on the thread that calls `block_on`.
    CurrentThread,
    /// A pool of work-stealing worker threads.
    MultiThread,
}

impl Builder {
    /// A multi-thread, work-stealing runtime: one worker per CPU by default.
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            thread_name: Arc::new(|| "runtime-worker".to_string()),
            thread_name_has_nul: false,
            thread_stack_size: None,
            start_paused: false,
            global_queue_interval: None,
            event_interval: 61,
            seed: None,
        }
    }

    /// Number of worker threads (multi-thread flavor). Defaults to the
    /// number of CPUs. `build()` fails with `InvalidInput` above
    /// [`MAX_WORKER_THREADS`].
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "worker_threads cannot be set to 0");
        self.worker_threads = Some(n);
        self
    }

    /// Upper bound on blocking-pool threads (default 512).
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_blocking_threads cannot be set to 0");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before exiting
    /// (default 10 s).
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.keep_alive = d;
        self
    }

    /// Name of every thread the runtime starts (default `runtime-worker`).
    /// A name containing a NUL byte makes `build()` fail with
    /// `InvalidInput`.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name_has_nul = name.contains('\0');
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// A function producing each new thread's name. A name containing a
    /// NUL byte makes that thread fail to start: `build()` returns
    /// `InvalidInput` for a worker, and a blocking-pool thread is treated
    /// like any other thread-creation failure.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.thread_name_has_nul = false;
        self.thread_name = Arc::new(f);
        self
    }

    /// Stack size of the threads the runtime starts.
    pub fn thread_stack_size(&mut self, size: usize) -> &mut Self {
        self.thread_stack_size = Some(size);
        self
    }

    /// Starts the runtime's clock paused (current-thread flavor only): time
    /// advances only through `time::advance` or, when every task is idle,
    /// by jumping to the next timer. For deterministic tests.
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Ticks between checks of the global queue (fairness for remotely
    /// scheduled tasks). Default 31 (current-thread); on the multi-thread
    /// runtime it is tuned continuously from measured poll times unless set.
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "global_queue_interval must be greater than 0");
        self.global_queue_interval = Some(n);
        self
    }

    /// Ticks between non-blocking polls of the I/O and timer driver while
    /// busy (default 61).
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "event_interval must be greater than 0");
        self.event_interval = n;
        self
    }

    /// Seeds the schedulers' randomness (work-stealing victim choice) for
    /// reproducible runs.
    pub fn rng_seed(&mut self, seed: u64) -> &mut Self {
        self.seed = Some(seed);
        self
    }

    /// Creates the runtime: starts the worker threads (multi-thread), the
    /// I/O reactor and the timer wheel.
    ///
    /// Fails with the OS error if threads or the reactor cannot be created
    /// (for example EMFILE when the process is out of file descriptors,
    /// EAGAIN when a worker thread cannot be started); whatever was created
    /// before the failure is released. Fails with `InvalidInput` for
    /// settings that do not fit the flavor, for more than
    /// [`MAX_WORKER_THREADS`] workers and for a thread name containing a
    /// NUL byte.
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.thread_name_has_nul {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "thread_name must not contain a NUL byte",
            ));
        }
        if self.start_paused && self.kind == Kind::MultiThread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_paused is only supported on the current-thread runtime",
            ));
        }
        let workers = match self.kind {
            Kind::CurrentThread => 1,
            Kind::MultiThread => self.worker_threads.unwrap_or_else(default_workers),
        };
        if workers > MAX_WORKER_THREADS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("worker_threads must be at most {MAX_WORKER_THREADS}, not {workers}"),
            ));
        }
        let (driver, driver_handle) = Driver::new(driver::Cfg {
            event_interval_hint: 1024,
            start_paused: self.start_paused,
            timer_shards: workers,
        })?;
        let mut blocking_pool = BlockingPool::new(PoolConfig {
            thread_name: self.thread_name.clone(),
            stack_size: self.thread_stack_size,
            keep_alive: self.keep_alive,
            thread_cap: self.max_blocking_threads,
        });
        let spawner = blocking_pool.spawner().clone();
        let seed = self.seed.unwrap_or_else(|| fastrand::u64(..));
        let (scheduler, inner) = match self.kind {
            Kind::CurrentThread => {
                let (sched, h) = current_thread::CurrentThread::new(
                    driver,
                    driver_handle,
                    spawner,
                    current_thread::Config {
                        global_queue_interval: self.global_queue_interval.unwrap_or(31),
                        event_interval: self.event_interval,
                    },
                );
                (
                    Scheduler::CurrentThread(sched),
                    scheduler::Handle::CurrentThread(h),
                )
            }
            Kind::MultiThread => {
                let n = workers;
                let res = multi_thread::MultiThread::new(
                    n,
                    driver,
                    driver_handle,
                    spawner,
                    multi_thread::Config {
                        global_queue_interval: self.global_queue_interval,
                        event_interval: self.event_interval,
                    },
                    multi_thread::ThreadCfg {
                        name: self.thread_name.clone(),
                        stack_size: self.thread_stack_size,
                    },
                    seed,
                );
                match res {
                    Ok((sched, h)) => (
                        Scheduler::MultiThread(sched),
                        scheduler::Handle::MultiThread(h),
                    ),
                    Err(e) => {
                        blocking_pool.shutdown(Some(Duration::from_secs(1)));
                        return Err(e);
                    }
                }
            }
        };
        Ok(Runtime {
            scheduler,
            handle: Handle { inner },
            blocking_pool,
            shut_down: false,
        })
    }
}

/// A `std::thread::Builder` for a runtime thread named `name`. `std` panics
/// on a name with a NUL byte (possible through `thread_name_fn`); this
/// reports it as `InvalidInput` so the callers' thread-creation error paths
/// handle it like an OS failure.
pub(crate) fn thread_builder(
    name: String,
    stack_size: Option<usize>,
) -> io::Result<std::thread::Builder> {
    if name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("thread name {name:?} contains a NUL byte"),
        ));
    }
    let mut b = std::thread::Builder::new().name(name);
    if let Some(sz) = stack_size {
        b = b.stack_size(sz);
    }
    Ok(b)
}

fn default_workers() -> usize {
    static CACHED: AtomicUsize = AtomicUsize::new(0);
    match CACHED.load(Ordering::Relaxed) {
        0 => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            CACHED.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.keep_alive)
            .field("start_paused", &self.start_paused)
            .finish_non_exhaustive()
    }
}
