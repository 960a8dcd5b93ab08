//! The demo `make demo` runs: the runtime's main job in one screen.
//!
//! It starts a multi-thread runtime, fans CPU-bound work out over every
//! core from inside a task, submits work from foreign threads (the way C
//! and Python code will), runs a TCP echo server and 100 clients on the
//! reactor, fires 10,000 timers, passes messages over a channel, runs
//! blocking work on the blocking pool, cancels a task, and prints what the
//! scheduler did (polls, steals, parks).
use runtime_core::runtime::Builder;
use runtime_core::task::JoinSet;
use std::time::{Duration, Instant};

fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn main() {
    let rt = Builder::new_multi_thread()
        .thread_name("demo-worker")
        .build()
        .expect("failed to build the runtime");
    let workers = rt.metrics().num_workers();
    println!("runtime: {workers} worker threads (one per core)");

    // 1. CPU-bound fan-out from inside a task: the workers steal it.
    let t0 = Instant::now();
    let longest = rt.block_on(async {
        let mut set = JoinSet::new();
        for chunk in 0..256u64 {
            set.spawn(async move {
                (chunk * 4096 + 1..(chunk + 1) * 4096)
                    .map(|n| (collatz_steps(n), n))
                    .max()
                    .unwrap()
            });
        }
        let mut best = (0, 0);
        while let Some(r) = set.join_next().await {
            best = best.max(r.expect("task failed"));
        }
        best
    });
    println!(
        "fan-out: longest Collatz chain below {} starts at {} ({} steps), {:?}",
        256 * 4096,
        longest.1,
        longest.0,
        t0.elapsed()
    );

    // 2. Foreign threads submit work through a Handle, as C and Python do.
    let handle = rt.handle().clone();
    let submitters: Vec<_> = (0..4u64)
        .map(|t| {
            let h = handle.clone();
            std::thread::spawn(move || {
                let joins: Vec<_> = (0..2500u64)
                    .map(|i| h.spawn(async move { t * 2500 + i }))
                    .collect();
                h.block_on(async move {
                    let mut s = 0;
                    for j in joins {
                        s += j.await.unwrap();
                    }
                    s
                })
            })
        })
        .collect();
    let total: u64 = submitters.into_iter().map(|t| t.join().unwrap()).sum();
    println!("foreign threads: 4 x 2,500 tasks submitted and joined, checksum {total}");

    // 3. The reactor: a TCP echo server and 100 concurrent clients.
    let echoed = rt.block_on(async {
        use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
        use runtime_core::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        runtime_core::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    break;
                };
                runtime_core::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = sock.read(&mut buf).await {
                        if n == 0 || sock.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut clients = JoinSet::new();
        for i in 0..100u32 {
            clients.spawn(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                let msg = format!("hello from client {i}");
                s.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0u8; msg.len()];
                s.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes());
                back.len()
            });
        }
        let mut bytes = 0;
        while let Some(r) = clients.join_next().await {
            bytes += r.unwrap();
        }
        bytes
    });
    println!("reactor: 100 TCP clients echoed {echoed} bytes through one server");

    // 4. The timer wheel: 10,000 sleeps, and a timeout.
    let t0 = Instant::now();
    let (fired, timed_out) = rt.block_on(async {
        use runtime_core::time::{sleep, timeout};
        let mut set = JoinSet::new();
        for i in 0..10_000u64 {
            set.spawn(async move { sleep(Duration::from_millis(1 + i % 50)).await });
        }
        let mut fired = 0;
        while set.join_next().await.is_some() {
            fired += 1;
        }
        let never = std::future::pending::<()>();
        let timed_out = timeout(Duration::from_millis(10), never).await.is_err();
        (fired, timed_out)
    });
    println!(
        "timers: {fired} sleeps of 1-50 ms fired in {:?}; timeout of a never-ready future: {timed_out}",
        t0.elapsed()
    );

    // 5. A channel between tasks.
    let received = rt.block_on(async {
        let (tx, mut rx) = runtime_core::sync::mpsc::channel::<u64>(64);
        for p in 0..4u64 {
            let tx = tx.clone();
            runtime_core::spawn(async move {
                for i in 0..1000 {
                    tx.send(p * 1000 + i).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    println!("channel: 4 producers sent 4,000 messages, checksum {received}");

    // 6. Blocking work on the blocking pool, and a cancelled task.
    let (blocking, cancelled) = rt.block_on(async {
        let b = runtime_core::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(20));
            "slept 20 ms on the blocking pool"
        });
        let forever = runtime_core::spawn(std::future::pending::<()>());
        forever.abort();
        (b.await.unwrap(), forever.await.unwrap_err().is_cancelled())
    });
    println!("blocking: {blocking}; aborted task cancelled: {cancelled}");

    let m = rt.metrics();
    println!(
        "scheduler: {} tasks spawned, {} polls, {} stolen, {} parks, {} scheduled remotely",
        m.spawned_tasks_count(),
        m.total_polls(),
        m.total_steals(),
        m.total_parks(),
        m.remote_schedule_count()
    );
    rt.shutdown_timeout(Duration::from_secs(1));
    println!("shutdown: clean");
}
