//! Half-close: shutting down the write half delivers EOF to the peer while
//! the other direction keeps working (TCP and Unix, owned and borrowed
//! halves, `shutdown()` and `close()`).
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{TcpListener, TcpStream, UnixStream};
use runtime_core::runtime::Builder;

#[test]
fn tcp_half_close_request_response() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime_core::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            // Read the whole request: only possible because the client
            // shut its write half down.
            let mut req = Vec::new();
            s.read_to_end(&mut req).await.unwrap();
            s.write_all(&req.iter().rev().copied().collect::<Vec<_>>())
                .await
                .unwrap();
            s.shutdown().await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"abcdef").await.unwrap();
        c.shutdown().await.unwrap();
        let mut resp = Vec::new();
        c.read_to_end(&mut resp).await.unwrap();
        assert_eq!(resp, b"fedcba");
        // Writing after shutdown is an error, not a panic.
        assert!(c.write_all(b"late").await.is_err());
        server.await.unwrap();
    });
}

#[test]
fn dropping_owned_write_half_sends_eof_and_reunite_works() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (c, s) = futures::join!(TcpStream::connect(addr), listener.accept());
        let (c, (mut s, _)) = (c.unwrap(), s.unwrap());

        let (rd, wr) = c.into_split();
        let c = rd.reunite(wr).expect("halves of the same stream");
        let (mut rd, mut wr) = c.into_split();
        wr.write_all(b"bye").await.unwrap();
        drop(wr); // shuts the write direction down
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        s.write_all(b"still open").await.unwrap();
        let mut buf = [0u8; 10];
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still open");

        // Halves of different streams are refused (and handed back).
        let (x, y) = UnixStream::pair().unwrap();
        let (xr, _xw) = x.into_split();
        let (_yr, yw) = y.into_split();
        assert!(xr.reunite(yw).is_err());
    });
}

#[test]
fn unix_borrowed_split_close() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        {
            let (mut rd, mut wr) = UnixStream::split(&mut a);
            let write = async {
                wr.write_all(b"ping").await.unwrap();
                wr.close().await.unwrap();
            };
            let read = async {
                let mut buf = [0u8; 4];
                rd.read_exact(&mut buf).await.unwrap();
                buf
            };
            let echo = async {
                let mut req = Vec::new();
                b.read_to_end(&mut req).await.unwrap();
                b.write_all(&req).await.unwrap();
            };
            let ((), buf, ()) = futures::join!(write, read, echo);
            assert_eq!(&buf, b"ping");
        }
    });
}
