#!/bin/sh
# Starts the release build under a virtual X display (Xvfb) on a sample file and saves a PNG
# screenshot of the whole screen.
#
#   scripts/screenshot.sh [OUT.png] [FILE...]
#
# Needs: xvfb, imagemagick (for `import`), and optionally xdotool
#   (Debian/Ubuntu: apt-get install -y xvfb imagemagick xdotool).
# Uses a throw-away store and settings folder, so your own store is not touched.
# Set DARK=1 for the dark theme, WAIT=seconds to wait before the shot (default 6).
set -eu
cd "$(dirname "$0")/.."
out=${1:-screenshot.png}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
    set -- sample-data/absences/ABS_RX1_20261102_000002.csv
fi
target=${CARGO_TARGET_DIR:-target}
bin="$target/release/esr-desk"
if [ ! -x "$bin" ]; then
    cargo build --release
fi
for tool in Xvfb import; do
    command -v "$tool" >/dev/null || { echo "screenshot.sh: $tool is missing (apt-get install -y xvfb imagemagick)" >&2; exit 2; }
done
tmp=$(mktemp -d)
display=:${DISPLAY_NUM:-97}
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
cleanup() { kill "$app" 2>/dev/null || true; kill "$xvfb" 2>/dev/null || true; rm -rf "$tmp"; }
app=
trap cleanup EXIT INT TERM
sleep 1
if [ "${DARK:-0}" = 1 ]; then
    mkdir -p "$tmp/config/esr-desk"
fi
DISPLAY=$display WAYLAND_DISPLAY= XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
    ESR_DESK_DB="$tmp/store.sqlite" ESR_DESK_DARK="${DARK:-0}" "$bin" "$@" &
app=$!
sleep "${WAIT:-6}"
DISPLAY=$display import -window root "$out"
echo "saved $out"
