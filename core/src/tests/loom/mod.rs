//! loom models of the task protocol, the owned-task list, parking and the
//! blocking pool.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p runtime-core --lib --release --target-dir target/loom tests::loom`.
//! Each model is bounded (`preemption_bound`) so the whole set finishes in
//! seconds: the bugs these protocols can have need at most two or three
//! preemptions to show up.
mod blocking_pool;
mod list;
mod park;
mod sync;
mod task;

/// A loom model runner with a preemption bound (raised, never lowered, by
/// `LOOM_MAX_PREEMPTIONS`, which the long CI form sets).
pub(super) fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(b.preemption_bound.map_or(bound, |env| env.max(bound)));
    b.check(f);
}
