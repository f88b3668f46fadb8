#!/usr/bin/env bash
# CPU time of long training runs, on record even when a run is killed (a work session here
# ends abruptly, and `/usr/bin/time` prints nothing for a killed process).
#
#   bench/cpu_monitor.sh OUT_DIR [PARENT_PID]
#
# Every 30 s, for each training process whose run lives under OUT_DIR (ours: `train ...
# --out OUT_DIR/burn/RUN`; PyTorch's: `torch_train_resumable.py --checkpoint
# OUT_DIR/pytorch/RUN.ckpt`), appends "<unix time> <user+system CPU seconds>" to
# OUT_DIR/cpu/<side>_<run>.<pid>. A run's CPU time is the sum, over its pids, of each
# file's last reading (bench/cv_table.py adds them up); a part killed between two
# readings loses at most 30 s. With PARENT_PID the monitor stops when that process ends.
set -uo pipefail
out=$1; parent=${2:-}
mkdir -p "$out/cpu"
tick=$(getconf CLK_TCK)
while [ -z "$parent" ] || kill -0 "$parent" 2>/dev/null; do
  for pid in $(pgrep -f " train .*--out |torch_train_resumable.py --checkpoint "); do
    { cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline"); stat=$(cat "/proc/$pid/stat"); } 2>/dev/null || continue
    case $cmd in /usr/bin/time*) continue ;; esac  # the wrapper, not the run
    if [[ $cmd =~ --out\ ([^ ]+) ]] && [[ ${BASH_REMATCH[1]} == "$out"/* ]]; then
      run=ours_$(basename "${BASH_REMATCH[1]}")
    elif [[ $cmd =~ --checkpoint\ ([^ ]+) ]] && [[ ${BASH_REMATCH[1]} == "$out"/* ]]; then
      run=theirs_$(basename "${BASH_REMATCH[1]}" .ckpt)
    else
      continue
    fi
    # utime and stime are fields 14 and 15; count from after the command name's ")".
    read -r -a fields <<< "${stat##*) }"
    echo "$(date +%s) $(( (fields[11] + fields[12]) / tick ))" >> "$out/cpu/$run.$pid"
  done
  sleep 30
done
