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
test_pkgs=(webkit2gtk-driver at-spi2-core libsecret-tools keyutils xdotool imagemagick fonts-dejavu-core)

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
