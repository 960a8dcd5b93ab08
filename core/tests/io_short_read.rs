//! A short read leaves readiness in place where more data can be queued
//! behind it: a TCP read stops at the urgent mark (`MSG_OOB` from the
//! peer), a Unix-domain stream read after a message that carried fds. The
//! runtime used to take every short read as "receive queue drained" and
//! clear readiness, so the next read waited for an event that never came.
use runtime_core::io::AsyncReadExt;
use runtime_core::net::{TcpStream, UnixStream};
use runtime_core::runtime::Builder;
use runtime_core::time::{sleep, timeout, Duration};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;

fn rt() -> runtime_core::runtime::Runtime {
    Builder::new_current_thread().build().unwrap()
}

#[test]
fn tcp_read_stopping_at_the_urgent_mark_keeps_readiness() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    rt().block_on(async move {
        let mut s = TcpStream::from_std(server).unwrap();
        client.write_all(b"ab").unwrap();
        // SAFETY: a valid socket and a 2-byte buffer.
        let n = unsafe { libc::send(client.as_raw_fd(), b"cX".as_ptr().cast(), 2, libc::MSG_OOB) };
        assert_eq!(n, 2);
        client.write_all(b"def").unwrap();
        sleep(Duration::from_millis(100)).await; // every event dispatched
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"abc", "the read stops at the urgent mark");
        let n = timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("\"def\" is queued but the read waits: readiness was cleared")
            .unwrap();
        assert_eq!(&buf[..n], b"def");
    });
}

/// Sends `data` with one fd attached (`SCM_RIGHTS`).
fn send_with_fd(sock: &std::os::unix::net::UnixStream, data: &[u8], fd: i32) {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` points at a control buffer of `space` bytes, aligned
    // for cmsghdr, big enough for one header with one int.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd);
    }
    // SAFETY: a valid socket and a complete msghdr.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, 0) };
    assert_eq!(n, data.len() as isize, "{}", io::Error::last_os_error());
}

#[test]
fn unix_read_stopping_after_a_message_with_fds_keeps_readiness() {
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let devnull = std::fs::File::open("/dev/null").unwrap();
    rt().block_on(async move {
        let mut s = UnixStream::from_std(b).unwrap();
        send_with_fd(&a, b"A", devnull.as_raw_fd());
        a.write_all(b"B").unwrap();
        sleep(Duration::from_millis(100)).await;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!(
            &buf[..n],
            b"A",
            "the read stops after the message with an fd"
        );
        let n = timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("\"B\" is queued but the read waits: readiness was cleared")
            .unwrap();
        assert_eq!(&buf[..n], b"B");
    });
}

/// The short-read shortcut still holds for ordinary TCP data: a drained
/// read followed by new data is read, and EOF after a short read is seen.
#[test]
fn tcp_short_reads_then_more_data_then_eof() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    rt().block_on(async move {
        let mut s = TcpStream::from_std(server).unwrap();
        let mut buf = [0u8; 64];
        for round in 0..20u8 {
            client.write_all(&[round; 3]).unwrap();
            let n = timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&buf[..n], &[round; 3]);
        }
        client.write_all(b"last").unwrap();
        drop(client);
        let mut all = Vec::new();
        timeout(Duration::from_secs(5), s.read_to_end(&mut all))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(all, b"last");
    });
}
