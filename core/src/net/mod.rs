//! TCP, UDP and Unix-domain sockets on the runtime's reactor.
//!
//! (Being built: see issue "I/O driver".)
