#!/usr/bin/env bash
# Side-by-side speed of esr-desk and its peers on the same files, on this machine.
#
#   scripts/bench-peers.sh [BIN] [ROWS]     (defaults: target/release/esr-desk, 1000000)
#
# Writes, in $BENCH_DIR (default /tmp/esr-desk-bench): a ROWS-row Absences file (esr-desk
# gen-sample) and, when the peer kit is found ($PEER_DIR, default ../shared/peer: gen.py,
# schema.json, schema.jsonschema.json), its ROWS-row 20-column CSV. Then times, 3 runs each
# (the median is printed, with peak memory):
#   - esr-desk validate (native layout) on the Absences file, and its import and export;
#   - esr-desk validate --schema, qsv validate and frictionless validate on the peer CSV;
#   - DuckDB reading every column of the Absences file (the full-parse floor);
#   - qsv count (a bare parse).
# With MEMORY_ROWS=N (e.g. 20000000) it also times validate and import of an N-row Absences
# file once each, for their peak memory (which must not grow with the rows).
# A peer that is not installed is skipped with a note; esr-desk's figures are always printed.
# Installing the peers (optional):
#   pip install frictionless==5.21.0 duckdb
#   qsv 16.1.0: `cargo install qsv --version 16.1.0 --features feature_capable` (see
#   ../shared/STACK.md for the one-line patch it needs to build).
# Run it on a quiet machine: it measures wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/esr-desk}
rows=${2:-1000000}
dir=${BENCH_DIR:-/tmp/esr-desk-bench}
peer=${PEER_DIR:-../shared/peer}
runs=3
mkdir -p "$dir"
export ESR_DESK_LAYOUTS=/nonexistent

# median SECONDS and max KB of `runs` runs of a command: prints "secs kb"
measure() {
  local times=() mem=0 t m
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >/dev/null 2>&1 || true
    # The last line: /usr/bin/time puts "Command exited with non-zero status N" before it.
    read -r t m < <(tail -n 1 "$dir/time.txt")
    times+=("$t")
    (( m > mem )) && mem=$m
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "$med $mem"
}

row() { # label secs kb
  printf '%-58s %8.2f s %8d MB\n' "$1" "$2" "$(( $3 / 1024 ))"
}

abs="$dir/ABS_RX1_20261102_000001.csv"
if [ ! -s "$abs" ]; then
  "$bin" gen-sample --interface absences --rows "$rows" --seed 1 --out "$abs" >/dev/null
  rm -f "$abs.defects.json"
fi
echo "files in $dir; $runs runs each, median wall time and peak memory"
echo
read -r v_s v_m < <(measure "$bin" validate "$abs" --interface absences --json)
row "esr-desk validate, $rows-row Absences" "$v_s" "$v_m"
read -r v1_s v1_m < <(ESR_DESK_THREADS=1 measure "$bin" validate "$abs" --interface absences --json)
row "esr-desk validate, one thread (ESR_DESK_THREADS=1)" "$v1_s" "$v1_m"
db="$dir/store.sqlite"
imp() { rm -f "$db" "$db-wal" "$db-shm"; "$bin" import "$abs" --interface absences --db "$db"; }
read -r i_s i_m < <(measure bash -c "$(declare -f imp); bin='$bin' abs='$abs' db='$db'; imp")
row "esr-desk import (fresh store)" "$i_s" "$i_m"
out="$dir/out"
exp() { rm -rf "$out"; "$bin" export 1 --out "$out" --db "$db" --vpd RX1; }
read -r e_s e_m < <(measure bash -c "$(declare -f exp); bin='$bin' out='$out' db='$db'; exp")
row "esr-desk export" "$e_s" "$e_m"

if python3 -c 'import duckdb' 2>/dev/null; then
  q="import duckdb,sys; c=duckdb.connect(); r=c.execute(\"select * from read_csv('$abs', all_varchar=true, header=true)\"); cols=[d[0] for d in r.description]; c.execute('select ' + ','.join(f'sum(length(\"{x}\"))' for x in cols) + \" from read_csv('$abs', all_varchar=true, header=true)\").fetchall()"
  read -r d_s d_m < <(measure python3 -c "$q")
  row "DuckDB read_csv, every column (full-parse floor)" "$d_s" "$d_m"
  echo "  validate / DuckDB parse: $(python3 -c "print(f'{$v_s/$d_s:.2f}x')")"
  echo "  import / DuckDB parse:   $(python3 -c "print(f'{$i_s/$d_s:.2f}x')")"
else
  echo "(DuckDB not installed: pip install duckdb)"
fi
if command -v qsv >/dev/null; then
  read -r c_s c_m < <(measure qsv count "$abs")
  row "qsv count (bare parse)" "$c_s" "$c_m"
fi

echo
if [ -f "$peer/gen.py" ]; then
  csv="$dir/peer.csv"
  if [ ! -s "$csv" ]; then
    (cd "$dir" && python3 "$OLDPWD/$peer/gen.py" "$rows" "$csv" >/dev/null)
  fi
  cp "$peer/schema.json" "$peer/schema.jsonschema.json" "$dir/"
  read -r s_s s_m < <(measure "$bin" validate "$csv" --schema "$dir/schema.json" --json)
  row "esr-desk validate --schema, $rows x 20 peer CSV" "$s_s" "$s_m"
  if command -v qsv >/dev/null; then
    read -r q_s q_m < <(measure qsv validate "$csv" "$dir/schema.jsonschema.json")
    row "qsv validate (JSON Schema)" "$q_s" "$q_m"
    echo "  qsv / esr-desk: $(python3 -c "print(f'{$q_s/$s_s:.1f}x')")"
  else
    echo "(qsv not installed: see the header of this script)"
  fi
  if command -v frictionless >/dev/null; then
    runs=1
    # frictionless refuses paths outside the folder it runs in ("unsafe"): run it there.
    read -r f_s f_m < <(measure bash -c "cd '$dir' && frictionless validate peer.csv --schema schema.json --json")
    row "frictionless validate (1 run)" "$f_s" "$f_m"
    echo "  frictionless / esr-desk: $(python3 -c "print(f'{$f_s/$s_s:.0f}x')")"
  else
    echo "(frictionless not installed: pip install frictionless==5.21.0)"
  fi
else
  echo "(peer kit not found at $peer: set PEER_DIR; esr-desk's own figures are above)"
fi

if [ -n "${MEMORY_ROWS:-}" ]; then
  echo
  big="$dir/ABS_RX1_20261102_000002.csv"
  if [ ! -s "$big" ]; then
    "$bin" gen-sample --interface absences --rows "$MEMORY_ROWS" --seed 1 --out "$big" >/dev/null
    rm -f "$big.defects.json"
  fi
  runs=1
  read -r b_s b_m < <(measure "$bin" validate "$big" --interface absences --json)
  row "esr-desk validate, $MEMORY_ROWS rows (1 run)" "$b_s" "$b_m"
  bigdb="$dir/big.sqlite"
  bimp() { rm -f "$bigdb" "$bigdb-wal" "$bigdb-shm"; "$bin" import "$big" --interface absences --db "$bigdb"; }
  read -r bi_s bi_m < <(measure bash -c "$(declare -f bimp); bin='$bin' big='$big' bigdb='$bigdb'; bimp")
  row "esr-desk import, $MEMORY_ROWS rows (1 run)" "$bi_s" "$bi_m"
  rm -f "$bigdb" "$bigdb-wal" "$bigdb-shm"
fi
