//! A TCP echo server.
//!
//! ```text
//! cargo run -p runtime-core --example echo -- 127.0.0.1:7000
//! # in another terminal:
//! nc 127.0.0.1 7000
//! ```
//!
//! Every line you type comes back. Each connection is served by its own
//! task; a client that disconnects (or errors) only ends its own task.
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::TcpListener;
use runtime_core::runtime::Runtime;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let rt = Runtime::new()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("echo server listening on {}", listener.local_addr()?);
        loop {
            let (mut socket, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // E.g. EMFILE: report and keep serving.
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            println!("{peer} connected");
            runtime_core::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) => break,
                        Ok(n) => {
                            if let Err(e) = socket.write_all(&buf[..n]).await {
                                eprintln!("{peer}: write failed: {e}");
                                break;
                            }
                        }
                        Err(e) => {
                            eprintln!("{peer}: read failed: {e}");
                            break;
                        }
                    }
                }
                println!("{peer} disconnected");
            });
        }
    })
}
