//! TCP echo ping-pong over loopback: `args.param` client connections, each
//! writing 1 KiB and reading the 1 KiB echo back, several round trips per
//! connection per iteration. Connections are set up once per process; an
//! iteration is the round trips only.

use super::{rt, runtime};
use crate::measure::{iterate, Args, Outcome};
use rt::io::{AsyncReadExt, AsyncWriteExt};
use rt::net::{TcpListener, TcpStream};

/// Message size.
pub const MSG: usize = 1024;

/// Round trips per connection per iteration: 2,000 for one connection,
/// at least 5 each for many.
pub fn round_trips(conns: u64) -> u64 {
    (2_000 / conns).max(5)
}

/// Raises the open-file limit to its hard maximum (1,000 connections need
/// 2,000+ descriptors).
fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

/// See the module documentation. Checksum: bytes echoed back intact.
pub fn tcp_echo(args: &Args) -> Outcome {
    raise_nofile();
    let conns = args.param as usize;
    let trips = round_trips(args.param);
    let rt = runtime(args.workers);
    let mut streams: Vec<TcpStream> = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        rt::task::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                rt::task::spawn(async move {
                    let mut buf = vec![0u8; MSG];
                    loop {
                        if s.read_exact(&mut buf).await.is_err() {
                            return;
                        }
                        if s.write_all(&buf).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            streams.push(s);
        }
        streams
    });
    let out = iterate(args, || {
        rt.block_on(async {
            let clients: Vec<_> = streams
                .drain(..)
                .enumerate()
                .map(|(c, mut s)| {
                    rt::task::spawn(async move {
                        let mut out = vec![0u8; MSG];
                        let mut back = vec![0u8; MSG];
                        let mut ok = 0u64;
                        for t in 0..trips {
                            out.fill((c as u64 + t) as u8);
                            s.write_all(&out).await.unwrap();
                            s.read_exact(&mut back).await.unwrap();
                            ok += (out == back) as u64 * MSG as u64;
                        }
                        (s, ok)
                    })
                })
                .collect();
            let mut total = 0;
            for c in clients {
                let (s, ok) = c.await.unwrap();
                streams.push(s);
                total += ok;
            }
            total
        })
    });
    // Leave the runtime and sockets to process exit.
    std::mem::forget(streams);
    std::mem::forget(rt);
    out
}
