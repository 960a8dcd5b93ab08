//! Crate-internal tests of the unsafe and concurrent core (task cells,
//! wakers, the owned-task list, parking), runnable under Miri and, with
//! `--cfg loom`, as loom models. (Being built: see issue "Reliability".)
