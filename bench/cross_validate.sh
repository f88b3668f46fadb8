#!/usr/bin/env bash
# The issue-6 side-by-side: the original's three architectures trained with our `train`
# and with ../shared/bench/torch_reference.py on the same Emotify folds (the reference's
# own, written by bench/sklearn_folds.py), one thread each, both frameworks at once.
# Finished runs are skipped and unfinished ones resume from their last epoch (ours with
# `train --resume`, PyTorch's through bench/torch_train_resumable.py, which is the reference's
# loop plus a checkpoint per epoch), so the script can be started again after an interruption.
#
#   bench/cross_validate.sh PYTHON OUT_DIR [RUNS...]
#
# RUNS are arch:fold pairs; the default is CRNN-BiGRU on all five folds and the other two
# architectures on folds 0 and 1. Ours go to OUT_DIR/burn/<arch>_f<fold>/ (result.json),
# PyTorch's to OUT_DIR/pytorch/<arch>_f<fold>.json; each has a .log with the timing.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$1; out=$2; shift 2
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(crnn-bigru:0 crnn-bigru:1 crnn-bigru:2 crnn-bigru:3 crnn-bigru:4 crnn-bilstm:0 crnn-bilstm:1 transformer:0 transformer:1)
data=../shared/emotify
folds=$out/folds
mkdir -p "$out/burn" "$out/pytorch"
[ -f "$folds/test_fold4.txt" ] || "$python" bench/sklearn_folds.py --data "$data" --out "$folds"
# XTASK=path/to/xtask uses a fixed copy of the runner (so rebuilding during a long run is safe).
if [ -z "${XTASK:-}" ]; then
  cargo build --release -p xtask
  XTASK=${CARGO_TARGET_DIR:-target}/release/xtask
fi
xtask=$XTASK

ours() {
  for run in "${runs[@]}"; do
    arch=${run%%:*}; fold=${run##*:}; dir=$out/burn/${arch}_f$fold
    [ -s "$dir/result.json" ] && continue
    /usr/bin/time -v "$xtask" train --data "$data" --arch "$arch" --strategy lists --lists "$folds" \
      --list-kind "fold$fold" --threads 1 --resume --out "$dir" --cache-dir "$out/cache" >> "$dir.log" 2>&1
  done
}
theirs() {
  for run in "${runs[@]}"; do
    arch=${run%%:*}; fold=${run##*:}; result=$out/pytorch/${arch}_f$fold.json
    [ -s "$result" ] && continue
    /usr/bin/time -v "$python" bench/torch_train_resumable.py --checkpoint "${result%.json}.ckpt" -- \
      train --data "$data" --model "$arch" --folds 5 --fold "$fold" --threads 1 \
      > "$result.tmp" 2>> "${result%.json}.log"
    mv "$result.tmp" "$result"
  done
}
ours & theirs & wait
