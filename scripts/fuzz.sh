#!/bin/sh
# Runs the fuzz targets (tests/fuzz, cargo fuzz with libFuzzer), each for SECONDS (default
# 600), their corpora seeded from the samples, the sample workbooks and the bundled layouts.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: validate workbook layout
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain it runs without a
# sanitizer (RUSTC_BOOTSTRAP lets cargo fuzz pass its flags); findings go to
# tests/fuzz/artifacts/TARGET/. `scripts/fuzz.sh build` only builds them; `scripts/fuzz.sh
# check` type-checks them (as CI does).
set -eu
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
if [ "${1:-}" = build ]; then
    exec cargo fuzz build --fuzz-dir tests/fuzz --sanitizer none
fi
if [ "${1:-}" = check ]; then
    exec cargo fuzz check --fuzz-dir tests/fuzz --sanitizer none
fi
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-validate workbook layout}
corpus=target/fuzz-corpus
for t in $targets; do
    mkdir -p "$corpus/$t"
    case $t in
        validate)
            # Each sample, led by a byte choosing its own layout's place among the bundled.
            for f in sample-data/*/*; do
                case $f in *.json|*.xlsx|*.xls|*.ods) continue ;; esac
                head -c 20000 "$f" > "$corpus/$t/$(basename "$f")"
            done ;;
        workbook)
            cp sample-data/*/*.xlsx tests/fixtures/*.ods tests/fixtures/*.xls "$corpus/$t/" 2>/dev/null || true ;;
        layout)
            cp assets/layouts/*.toml "$corpus/$t/" ;;
    esac
    echo "fuzzing $t for $secs s"
    cargo fuzz run --fuzz-dir tests/fuzz --sanitizer none "$t" "$corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1
done
