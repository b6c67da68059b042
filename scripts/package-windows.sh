#!/bin/sh
# Builds what an officer installs on Windows, from the release cross build:
#   target/windows-dist/esr-desk-VERSION-setup.exe    per-user installer (NSIS; no admin rights)
#   target/windows-dist/esr-desk-VERSION-portable.zip  the same files, to unpack and run
# Both carry the version, the licence and the README.
#
#   scripts/package-windows.sh [EXE]
#
# EXE defaults to the release cross build (made when missing: cargo build --release --target
# x86_64-pc-windows-gnu). Needs Debian's mingw-w64 and nsis (apt-get install -y mingw-w64
# nsis), and python3 for the zip. Never packs tests/windows' shim: Windows has the real DLL.
set -eu
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
exe=${1:-$target/x86_64-pc-windows-gnu/release/esr-desk.exe}
if [ ! -f "$exe" ]; then
    cargo build --release --target x86_64-pc-windows-gnu
fi
for tool in makensis x86_64-w64-mingw32-strip python3; do
    command -v "$tool" >/dev/null || {
        echo "package-windows.sh: $tool is missing (apt-get install -y nsis mingw-w64 python3)" >&2
        exit 2
    }
done
version=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
dist=$target/windows-dist
stage=$dist/stage
rm -rf "$stage"
mkdir -p "$stage"
x86_64-w64-mingw32-strip -o "$stage/esr-desk.exe" "$exe"
cp README.md "$stage/README.md"
{
    echo "ESR Interface Desk $version is licensed under either of the MIT licence or the"
    echo "Apache Licence, Version 2.0, at your option. Both follow."
    echo
    cat docs/licence/LICENSE-MIT
    echo
    cat docs/licence/LICENSE-APACHE
} > "$stage/LICENSE.txt"
setup=$dist/esr-desk-$version-setup.exe
zip=$dist/esr-desk-$version-portable.zip
rm -f "$setup" "$zip"
# makensis reads paths from the script's own folder: give it whole ones.
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
makensis -V2 -DVERSION="$version" -DSTAGE="$(abs "$stage")" -DOUT="$(abs "$setup")" \
    scripts/windows/esr-desk.nsi
python3 - "$zip" "$stage" "$version" <<'EOF'
import os, sys, zipfile
out, stage, version = sys.argv[1:]
top = f"ESR Interface Desk {version}"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(stage)):
        z.write(os.path.join(stage, name), f"{top}/{name}")
EOF
echo "$setup"
echo "$zip"
