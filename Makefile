# The two commands a newcomer needs (see README.md):
#   make demo   - build in release mode and run the demo of the main job
#   make test   - run every test suite (Rust, C, Python); installs what it needs
.PHONY: demo test test-long bench bench-quick install doc clean

PREFIX ?= /usr/local

demo:
	@echo "== Rust: runtime-core"
	cargo run --release -p runtime-core --example demo
	@echo "== C: libruntime.so (examples-c)"
	cargo build --release -p runtime-ffi
	$(MAKE) -s -C examples-c RUNTIME_LIBDIR=$(CURDIR)/target/release OUT=build-release \
		build-release/hello build-release/parallel_sum build-release/foreign_callback build-release/serial_queue
	examples-c/build-release/hello
	examples-c/build-release/parallel_sum
	examples-c/build-release/foreign_callback
	examples-c/build-release/serial_queue
	@echo "== Python: import runtime"
	bash python/demo.sh

test:
	bash .ci/test-all.sh

# The long forms of the reliability checks (RELIABILITY.md): loom with more
# preemptions, Miri on runtime tests, long stress, ASan/TSan on the Rust
# suite, the C API fuzz target for 10 minutes.
test-long:
	bash .ci/reliability.sh --long

bench:
	bash benches/run.sh

bench-quick:
	bash benches/run.sh --quick

install:
	bash ffi/install.sh "$(PREFIX)"

doc:
	cargo doc --workspace --no-deps

clean:
	cargo clean
