#!/usr/bin/env bash
# Installs what is missing, builds, and starts SteadyDancer Studio.
# Arguments are passed to the app. With no display (a server), it runs under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-app.sh --release
app=target/release/steadydancer-studio
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "==> no display found: starting under Xvfb (screen :99); take a screenshot with: DISPLAY=:99 import -window root shot.png"
  exec xvfb-run -n 99 -s "-screen 0 1280x800x24" dbus-run-session -- "$app" "$@"
fi
exec "$app" "$@"
