#!/usr/bin/env bash
# Installs whatever this Debian 12 / Ubuntu 24.04 machine is missing to build SteadyDancer Studio
# (and, with --test, to run every test). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=false
[[ "${1:-}" == "--test" ]] && want_tests=true

SUDO=""
[[ "$(id -u)" -ne 0 ]] && SUDO="sudo"

build_pkgs=(build-essential pkg-config curl file libdbus-1-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev
  libavdevice-dev libswresample-dev clang libclang-dev ffmpeg nodejs npm
  xvfb xauth dbus-x11 dbus-daemon gnome-keyring
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)
# git, Python's venv and pip: the pod bootstrap's tests run it with sh against local repositories.
test_pkgs=(webkit2gtk-driver at-spi2-core libsecret-tools keyutils xdotool imagemagick fonts-dejavu-core
  git python3 python3-venv python3-pip)

pkgs=("${build_pkgs[@]}")
$want_tests && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  # node and npm may come from elsewhere (nvm, NodeSource): only ask apt when the command is absent.
  if [[ "$p" == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ "$p" == npm ]] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "==> Rust is missing: install it from https://rustup.rs (1.95 or newer), then run this again." >&2
  exit 1
fi

npm_install() {
  local dir=$1
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    echo "==> npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_install ui

if $want_tests; then
  npm_install tests/e2e
  if ! command -v tauri-driver >/dev/null; then
    echo "==> tauri-driver (WebDriver bridge for the end-to-end tests)"
    cargo install tauri-driver --locked --version '^2' --quiet
  fi
fi

# ONNX Runtime for the pose engine's tests (crates/pose/tests/models.rs runs the pipeline through
# it as well as through RTen when STUDIO_ONNXRUNTIME_LIB names it; scripts/test.sh exports it):
# the library from the same PyPI wheel the app downloads (crates/pose/src/runtime.rs), hash-checked.
if $want_tests && [[ "$(uname -s)" == Linux ]]; then
  ort_dir="${XDG_CACHE_HOME:-$HOME/.cache}/steadydancer-studio/onnxruntime-1.32.0"
  case "$(uname -m)" in
    x86_64) ort_whl="a3/81/55845186c20cba59f614991f4065dea148e48eeb9749893768c85ce64327/onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_x86_64.whl"
            ort_sha=99e1074c4b2197accd5073052a465361be17b89c093b8ffb6e6bd8f986c52df8 ;;
    aarch64) ort_whl="4a/8f/1e43fb994513c7c7a9c6965272ef89d963c1bd4080993a6267bf913701d1/onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_aarch64.whl"
             ort_sha=e36c187006e7a7c8b8d6d57f1a209dd63f52430dca6c282b177718ad6b841054 ;;
    *) ort_whl="" ;;
  esac
  if [[ -n "$ort_whl" && ! -f "$ort_dir/libonnxruntime.so" ]]; then
    echo "==> onnxruntime 1.32.0 library for the pose engine tests"
    # Not fatal: without it the pose tests cover the built-in engine only.
    mkdir -p "$ort_dir" &&
      curl -fsSL --retry 3 -o "$ort_dir/ort.whl" "https://files.pythonhosted.org/packages/$ort_whl" &&
      echo "$ort_sha  $ort_dir/ort.whl" | sha256sum -c --quiet &&
      python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read(next(n for n in z.namelist() if n.split("/")[-1].startswith("libonnxruntime.so."))))' \
        "$ort_dir/ort.whl" "$ort_dir/libonnxruntime.so.part" &&
      mv "$ort_dir/libonnxruntime.so.part" "$ort_dir/libonnxruntime.so" ||
      echo "warning: could not fetch the onnxruntime library; the pose tests run on RTen only" >&2
    rm -f "$ort_dir/ort.whl" "$ort_dir/libonnxruntime.so.part"
  fi
fi
