#!/usr/bin/env python3
"""Time the reference's decoding alone: `librosa.load(path, sr=None, mono=True)` (libsndfile
with its FLAC, Vorbis and mpg123 decoders, then the channel mean), no resampling, no features.

    python librosa_decode.py [--repeat N] [--threads 1] FILE...

Same output as ../shared/bench/librosa_features.py: one JSON line per file
{"file", "seconds_median", "seconds_min", "repeat"}, then {"files", "total_seconds_median"}.
Run by `cargo xtask bench features --decode-only --librosa PYTHON`.
"""
import argparse, json, os, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            os.environ[v] = str(a.threads)
    import librosa

    librosa.load(a.files[0], sr=None, mono=True)  # warm-up: imports, page cache
    total = 0.0
    for f in a.files:
        ts = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            librosa.load(f, sr=None, mono=True)
            ts.append(time.perf_counter() - t0)
        ts.sort()
        med = ts[len(ts) // 2]
        total += med
        print(json.dumps({"file": f, "seconds_median": med, "seconds_min": ts[0], "repeat": a.repeat}))
    print(json.dumps({"files": len(a.files), "total_seconds_median": total}))


if __name__ == "__main__":
    sys.exit(main())
