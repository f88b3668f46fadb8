#!/usr/bin/env bash
# Copies the finished runs' records of a `bench/cross_validate.sh` folder into the
# repository (the folder itself lives in /tmp, which a new machine does not keep):
#
#   bench/keep_cv_results.sh /tmp/gtzan-cv bench/results/gtzan-excerpts-2026-12-06
#
# burn/<run>/result.json and metrics.csv (finished runs only), pytorch/<run>.json and
# <run>.epochs.jsonl (validation accuracy per epoch, from its log), cpu/ (cpu_monitor's
# readings) and folds/ (the list files both sides read). `bench/cv_table.py DEST` prints
# the table from them.
set -euo pipefail
src=$1; dest=$2
mkdir -p "$dest/burn" "$dest/pytorch" "$dest/cpu"
for run in "$src"/burn/*/; do
  [ -s "$run/result.json" ] || continue
  name=$(basename "$run")
  mkdir -p "$dest/burn/$name"
  cp "$run/result.json" "$run/metrics.csv" "$dest/burn/$name/"
done
for result in "$src"/pytorch/*.json; do
  [ -s "$result" ] || continue
  cp "$result" "$dest/pytorch/"
  grep '^{"epoch"' "${result%.json}.log" > "$dest/pytorch/$(basename "${result%.json}").epochs.jsonl" || true
done
cp -r "$src"/cpu/. "$dest/cpu/" 2>/dev/null || true
if [ -d "$src/folds" ]; then
  mkdir -p "$dest/folds"
  cp "$src"/folds/*.txt "$dest/folds/"
fi
echo "kept $(ls "$dest/burn" | wc -l) of ours and $(ls "$dest"/pytorch/*.json 2>/dev/null | wc -l) of PyTorch's in $dest"
