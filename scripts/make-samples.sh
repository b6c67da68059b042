#!/usr/bin/env bash
# Regenerates sample-data/<interface id>/ for every bundled layout: one clean file and one
# defect-seeded file (with <file>.defects.json), named by the layout's file-name pattern. The
# folder is the layout's interface (its top-level `interface = "..."`, else its id), so the
# layouts of one interface (one each way, ESR's answers) share a folder, cleared once.
# Deterministic: the same binary writes the same files. Usage: scripts/make-samples.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/esr-desk}
ids=$(ls assets/layouts | sed -n "s/\.toml$//p")
cleared=" "
for id in $ids; do
  iface=$(sed -n 's/^interface *= *"\([^"]*\)".*/\1/p' "assets/layouts/$id.toml" | head -n 1)
  dir=sample-data/${iface:-$id}
  case "$cleared" in
    *" $dir "*) ;;
    *)
      rm -rf "$dir"
      mkdir -p "$dir"
      cleared="$cleared$dir "
      ;;
  esac
  ESR_DESK_LAYOUTS=/nonexistent "$bin" gen-sample --interface "$id" --rows 240 --seed 11 --seq 1 --out "$dir" >/dev/null
  ESR_DESK_LAYOUTS=/nonexistent "$bin" gen-sample --interface "$id" --rows 240 --seed 12 --seq 2 --defect-rate 0.12 --out "$dir" >/dev/null
  echo "$dir: $(ls "$dir" | tr '\n' ' ')"
done
# A file renamed after it was written: its header still names the file it was written as, so
# it has the seeded file's defects and one more, on the header.
dir=sample-data/gl-finance-pay-costs
cp "$dir/GL_RX1_PAYCOST_20261102_000002.txt" "$dir/GL_RX1_PAYCOST_20261102_000003.txt"
sed '1a\
  {\
    "line": 1,\
    "field": "File Name",\
    "rule": "file-name-mismatch"\
  },' "$dir/GL_RX1_PAYCOST_20261102_000002.txt.defects.json" \
  >"$dir/GL_RX1_PAYCOST_20261102_000003.txt.defects.json"
echo "$dir: renamed copy GL_RX1_PAYCOST_20261102_000003.txt"
# Workbooks as local systems export them (title rows, their own column names and order, extra
# sheets), with Excel's damage seeded and keyed: for interfaces whose data often starts in a
# spreadsheet.
wb() { # id seed name
  ESR_DESK_LAYOUTS=/nonexistent "$bin" gen-sample --interface "$1" --rows 60 --seed "$2" --defect-rate 0.15 --out "sample-data/$1/$3" >/dev/null
  echo "sample-data/$1: workbook $3"
}
wb absences 21 "Absence report November 2026.xlsx"
wb rostering-pay-variations 22 "Roster pay export 2026-11.xlsx"
wb occupational-health-immunisations 23 "OH vaccinations extract.xlsx"
wb learning-cstf-competence-completions 24 "Training completions Nov.xlsx"
wb expenses-expense-claims 25 "Expense claims approved 2026-11.xlsx"
