#!/usr/bin/env python3
"""Short crops of a collection's long clips, as a folder-per-genre collection of their own.

The held-back GTZAN excerpts are mostly 2.0-2.6 s long, one zero-padded 3 s segment each,
while the long excerpts (15-30 s) fill whole segments. Crops of the long clips, cut to the
short excerpts' lengths, are training examples that look like the short ones: the
"crops" variant of `docs/gtzan.md`. Each crop keeps its clip's id in its name
(`blues.00003.crop02.wav`), so the artist of its clip is known and the crop stays on
its clip's side of every split.

    python bench/excerpt_crops.py ../shared/gtzan-excerpts/audio /tmp/crops \
        [--min-seconds 10] [--every 3] [--lengths 2.0,2.6] [--seed 42]

Writes 16-bit WAV at the source's rate (22,050 Hz for the excerpts); never into the
source folder. Derived from the collection: keep it outside the repository.
"""
import argparse
import os

import numpy as np
import soundfile as sf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--min-seconds", type=float, default=10.0, help="crop clips at least this long")
    ap.add_argument("--every", type=float, default=3.0, help="one crop starting every this many seconds")
    ap.add_argument("--lengths", default="2.0,2.6", help="crop lengths drawn uniformly from this range")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    lo, hi = (float(x) for x in a.lengths.split(","))
    rng = np.random.default_rng(a.seed)
    written = 0
    for genre in sorted(os.listdir(a.source)):
        folder = os.path.join(a.source, genre)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            y, sr = sf.read(os.path.join(folder, name), dtype="float32", always_2d=True)
            y = y.mean(axis=1)
            if len(y) < a.min_seconds * sr:
                continue
            os.makedirs(os.path.join(a.out, genre), exist_ok=True)
            stem = os.path.splitext(name)[0]
            step = int(a.every * sr)
            for k, start in enumerate(range(0, len(y) - int(hi * sr), step)):
                length = int(rng.uniform(lo, hi) * sr)
                crop = y[start:start + length]
                sf.write(os.path.join(a.out, genre, f"{stem}.crop{k:02d}.wav"), crop, sr, subtype="PCM_16")
                written += 1
    print(f"{written} crops -> {a.out}")


if __name__ == "__main__":
    main()
