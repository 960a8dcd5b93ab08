# The two commands a newcomer needs (see README.md):
#   make demo   - build in release mode and run the demo of the main job
#   make test   - run every test suite (Rust, C, Python); installs what it needs
.PHONY: demo test bench bench-quick install doc clean

PREFIX ?= /usr/local

demo:
	cargo run --release -p runtime-core --example demo

test:
	bash .ci/test-all.sh

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
