//! `const_new` constructors: primitives usable as `static`s.
//! (Not under `--cfg loom`, where, as in Tokio, there are no `const_new`s.)
#![cfg(not(loom))]
use futures::executor::block_on;

#[test]
fn const_constructed_primitives_work_as_statics() {
    use runtime_core::sync::{Mutex, Notify, RwLock, Semaphore};
    static M: Mutex<u32> = Mutex::const_new(0);
    static R: RwLock<u32> = RwLock::const_new(1);
    static S: Semaphore = Semaphore::const_new(1);
    static N: Notify = Notify::const_new();
    block_on(async {
        *M.lock().await += 1;
        assert_eq!(*R.read().await, 1);
        let _p = S.acquire().await.unwrap();
        N.notify_one();
        N.notified().await;
    });
    assert_eq!(*M.try_lock().unwrap(), 1);
}
