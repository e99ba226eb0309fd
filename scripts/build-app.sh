#!/usr/bin/env bash
# Builds the front end and the app binary that embeds it (debug profile unless --release).
set -euo pipefail
cd "$(dirname "$0")/.."
(cd ui && npm run build --silent)
profile=()
[[ "${1:-}" == "--release" ]] && profile=(--release)
cargo build "${profile[@]}" -p steadydancer-studio -p studio-cli --features steadydancer-studio/custom-protocol
