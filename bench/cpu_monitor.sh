#!/usr/bin/env bash
# CPU time of long training runs, on record even when a run is killed (a work session here
# ends abruptly, and `/usr/bin/time` prints nothing for a killed process).
#
#   bench/cpu_monitor.sh OUT_DIR PATTERN
#
# Every 30 s, for each process whose command line matches PATTERN (an extended regex) and
# names a run (`--out DIR`: ours; `--checkpoint FILE.ckpt`: PyTorch's), appends
# "<unix time> <user+system CPU seconds>" to OUT_DIR/cpu/<side>_<run>.<pid>. A run's CPU
# time is the sum, over its pids, of each file's last reading (bench/cv_table.py adds
# them up); a part killed between two readings loses at most 30 s.
set -uo pipefail
out=$1; pattern=$2
mkdir -p "$out/cpu"
tick=$(getconf CLK_TCK)
while true; do
  for pid in $(pgrep -f "$pattern"); do
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
    case $cmd in /usr/bin/time*) continue ;; esac  # the wrapper, not the run
    if [[ $cmd =~ --out\ ([^ ]+) ]]; then run=ours_$(basename "${BASH_REMATCH[1]}")
    elif [[ $cmd =~ --checkpoint\ ([^ ]+) ]]; then run=theirs_$(basename "${BASH_REMATCH[1]}" .ckpt)
    else continue; fi
    read -r -a stat < "/proc/$pid/stat" 2>/dev/null || continue
    # Fields 14 and 15 (utime, stime) in clock ticks; the command name has no spaces here.
    echo "$(date +%s) $(( (stat[13] + stat[14]) / tick ))" >> "$out/cpu/$run.$pid"
  done
  sleep 30
done
