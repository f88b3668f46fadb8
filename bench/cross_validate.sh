#!/usr/bin/env bash
# The issue-6 side-by-side: the original's three architectures trained with our `train`
# and with ../shared/bench/torch_reference.py on the same Emotify folds (the reference's
# own, written by bench/sklearn_folds.py), one thread per run.
#
#   bench/cross_validate.sh PYTHON OUT_DIR [JOBS...]
#
# A job is SIDE:ARCH:FOLD with SIDE one of `ours`, `theirs` (PyTorch) or `ours-whole` (ours
# with `train --whole-track`: every 3 s segment of each clip, not only the first 30 s).
# The default list pairs each run with its PyTorch twin: CRNN-BiGRU on all five folds, the
# whole-track run on fold 0, then the other two architectures on folds 0 and 1.
#
# WORKERS (default 2, one per core) take jobs from the list in order; a job is claimed
# with a lock directory holding the worker's pid, so no two workers run the same one, even
# workers of two starts of the script (say, a second start with more jobs). Finished jobs
# are skipped and unfinished ones resume from their last epoch (ours with `train --resume`,
# PyTorch's through bench/torch_train_resumable.py, the reference's loop plus a checkpoint
# per epoch), so the script can be started again after an interruption.
#
# Ours go to OUT_DIR/burn/<arch>_f<fold>[_whole]/ (result.json), PyTorch's to
# OUT_DIR/pytorch/<arch>_f<fold>.json; each has a .log with `/usr/bin/time -v`'s CPU time
# of its last, uninterrupted part. bench/cpu_monitor.sh records every part's CPU time in
# OUT_DIR/cpu, and `python3 bench/cv_table.py OUT_DIR` prints the side-by-side table.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$1; out=$2; shift 2
jobs=("$@")
if [ ${#jobs[@]} -eq 0 ]; then
  for run in crnn-bigru:0 crnn-bigru:1 crnn-bigru:2 crnn-bigru:3 crnn-bigru:4 ours-whole \
             crnn-bilstm:0 crnn-bilstm:1 transformer:0 transformer:1; do
    if [ "$run" = ours-whole ]; then jobs+=(ours-whole:crnn-bigru:0); continue; fi
    jobs+=("ours:$run" "theirs:$run")
  done
fi
# COLLECTION=gtzan-excerpts runs the same jobs on ../shared/gtzan-excerpts, on artist-disjoint
# folds that our `split` writes as list files (Sturm's artist index; unnamed clips of a genre
# kept together), which both sides read. There both sides train and test on every segment
# of each clip (most clips are one 3 s segment; the first 30 s would add nine of silence).
collection=${COLLECTION:-emotify}
case $collection in
  emotify) data=../shared/emotify ;;
  gtzan-excerpts) data=../shared/gtzan-excerpts/audio ;;
  *) echo "COLLECTION is emotify or gtzan-excerpts" >&2; exit 1 ;;
esac
folds=$out/folds
locks=$out/locks
mkdir -p "$out/burn" "$out/pytorch"
mkdir -p "$locks"
# A lock folder holds its worker's pid. Locks of workers no longer alive (an interrupted
# earlier start) are cleared; live ones are kept, so a second start with its own job list
# can run beside a first without running a job twice.
for lock in "$locks"/*/; do
  [ -d "$lock" ] || continue
  pid=$(cat "$lock/pid" 2>/dev/null) || pid=
  { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || rm -rf "$lock"
done
# XTASK=path/to/xtask uses a fixed copy of the runner (so rebuilding during a long run is safe).
if [ -z "${XTASK:-}" ]; then
  cargo build --release -p xtask
  XTASK=${CARGO_TARGET_DIR:-target}/release/xtask
fi
xtask=$XTASK
if [ ! -f "$folds/test_fold4.txt" ]; then
  if [ "$collection" = emotify ]; then
    "$python" bench/sklearn_folds.py --data "$data" --out "$folds"
  else
    for k in 0 1 2 3 4; do
      "$xtask" split --data "$data" --strategy k-fold --folds 5 --fold $k \
        --artist-index ../shared/gtzan-sample/metadata/GTZANindex.txt \
        --out "$folds/fold$k.json" --lists-out "$folds" --list-kind "fold$k"
    done
  fi
fi

bench/cpu_monitor.sh "$out" $$ &

run_job() {
  local side=${1%%:*} rest=${1#*:}
  local arch=${rest%%:*} fold=${rest##*:}
  case $side in
    ours|ours-whole)
      local dir=$out/burn/${arch}_f$fold extra=()
      [ "$side" = ours-whole ] && { dir=${dir}_whole; extra=(--whole-track); }
      [ "$collection" = emotify ] || extra=(--whole-track --test-whole-track)
      [ -s "$dir/result.json" ] && return 0
      /usr/bin/time -v "$xtask" train --data "$data" --arch "$arch" --strategy lists --lists "$folds" \
        --list-kind "fold$fold" --threads 1 --resume "${extra[@]}" --out "$dir" \
        --cache-dir "$out/cache" >> "$dir.log" 2>&1 ;;
    theirs)
      local result=$out/pytorch/${arch}_f$fold.json
      [ -s "$result" ] && return 0
      # The same lists as ours for the GTZAN excerpts; for Emotify, the reference's own folds
      # (bench/sklearn_folds.py wrote ours from them).
      local split=(--folds 5 --fold "$fold")
      [ "$collection" = emotify ] || split=(--lists "$folds" --list-kind "fold$fold" --whole-track)
      /usr/bin/time -v "$python" bench/torch_train_resumable.py --checkpoint "${result%.json}.ckpt" -- \
        train --data "$data" --model "$arch" "${split[@]}" --threads 1 \
        > "$result.tmp" 2>> "${result%.json}.log"
      mv "$result.tmp" "$result" ;;
    *) echo "unknown job $1" >&2; return 1 ;;
  esac
}
# Claims a job: its lock folder appears at once with the worker's pid inside (a rename
# fails when the folder exists), so no other start can see it empty and clear it.
claim() {
  local tmp
  tmp=$(mktemp -d "$locks/.claim.XXXXXX")
  echo "$BASHPID" > "$tmp/pid"
  mv -T "$tmp" "$locks/${1//:/_}" 2>/dev/null || { rm -rf "$tmp"; return 1; }
}
worker() {
  for job in "${jobs[@]}"; do
    claim "$job" || continue
    run_job "$job"
  done
}
pids=()
for _ in $(seq "${WORKERS:-2}"); do worker & pids+=($!); done
wait "${pids[@]}"  # the workers only: the monitor stops by itself when this script ends
