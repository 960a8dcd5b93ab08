//! `TcpListener::bind` listens with the documented backlog of 1024 (it
//! used mio's `bind`, whose backlog is 128): 300 connections nobody has
//! accepted yet all complete their handshake.
use runtime_core::net::TcpListener;
use runtime_core::runtime::Builder;

#[test]
fn tcp_listener_queues_300_unaccepted_connections() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        let want = 300.min(somaxconn);
        let mut conns = Vec::new();
        for i in 0..want {
            match std::net::TcpStream::connect_timeout(
                &addr,
                std::time::Duration::from_millis(1000),
            ) {
                Ok(c) => conns.push(c),
                Err(e) => panic!("connection {i} was not queued ({e}): backlog below 1024"),
            }
        }
        // They are all there to accept.
        for _ in 0..want {
            l.accept().await.unwrap();
        }
    });
}
