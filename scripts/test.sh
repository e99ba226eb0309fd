#!/usr/bin/env bash
# Installs what is missing and runs every test: formatting, lints, Rust tests (with a real
# keychain), the UI's unit tests, and the end-to-end suite driving the real app under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"
# The pose engine's tests run through ONNX Runtime as well as RTen when setup fetched the library.
ort_lib="${XDG_CACHE_HOME:-$HOME/.cache}/steadydancer-studio/onnxruntime-1.32.0/libonnxruntime.so"
if [[ -f "$ort_lib" ]]; then export STUDIO_ONNXRUNTIME_LIB="$ort_lib"; fi

step "cargo fmt --check"
cargo fmt --all --check

step "front end build"
(cd ui && npm run build --silent)

step "clippy"
cargo clippy --workspace --all-targets --features steadydancer-studio/custom-protocol -- -D warnings

step "build (app, CLI, tests)"
cargo build --workspace --features steadydancer-studio/custom-protocol
cargo test --workspace --features steadydancer-studio/custom-protocol --no-run --quiet

step "Rust tests (real Secret Service in a private session)"
scripts/keyring-session.sh cargo test --workspace --features steadydancer-studio/custom-protocol --quiet --no-fail-fast

step "UI unit tests"
(cd ui && npx vitest run)

step "end-to-end: the real app under Xvfb through WebDriver"
xvfb-run -a -s "-screen 0 1280x800x24" scripts/keyring-session.sh \
  sh -c 'cd tests/e2e && npm test --silent'

step "all tests passed"
