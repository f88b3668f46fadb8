"""Tracks per second, one machine, one run: (a) the `genre predict` CLI over a folder,
(b) `Classifier.predict_batch`, (c) the Ray Data job with 1 and 2 workers on a local Ray,
and (d) librosa + the original's per-upload pipeline (PyTorch CRNN-BiGRU), from Python;
and, for the features alone, (e) `genre_classifier.features` against (f) librosa.

    python throughput.py --cli PATH/TO/genre [--reference-python PYTHON] FOLDER

Run by `cargo xtask bench python FOLDER` in a venv with the wheel and Ray installed. The
reference needs librosa and torch (../shared/bench/requirements.txt) in PYTHON; it is the
original app's work per file (`../shared/bench/seed_pipeline.py`'s `run`), once per file.
Every figure includes decoding the files; each side uses every core of the machine.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REFERENCE = r"""
import sys, time, numpy as np, torch, librosa
sys.path.insert(0, sys.argv[1])
import torch_reference as tr
torch.set_num_threads(int(sys.argv[2]))
m = tr.build("crnn-bigru", 10, torch, torch.nn).eval()
SR, SEG = 22050, 66150
def features(path):
    y, _ = librosa.load(path, sr=SR, mono=True)
    y = librosa.util.fix_length(y, size=SEG * 10)
    f = []
    for i in range(10):
        L = librosa.power_to_db(librosa.feature.melspectrogram(y=y[i*SEG:(i+1)*SEG], sr=SR, n_fft=2048, hop_length=512, n_mels=128), ref=np.max)
        f.append((L - L.mean()) / (L.std() + 1e-8))
    return np.stack(f).astype(np.float32)
def run(path):
    with torch.no_grad():
        return torch.softmax(m(torch.from_numpy(features(path))), -1).mean(0)
files = sys.argv[3:]
run(files[0])
t = time.perf_counter()
for f in files:
    run(f)
pipeline = time.perf_counter() - t
t = time.perf_counter()
for f in files:
    features(f)
print(pipeline, time.perf_counter() - t)
"""


def timed(label, n, seconds, rows):
    rows.append({"what": label, "tracks": n, "seconds": round(seconds, 3), "tracks_per_s": round(n / seconds, 2)})
    print(f"{label:<55} {n:>4} tracks {seconds:8.2f} s  {n / seconds:7.2f} tracks/s", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--cli", required=True)
    parser.add_argument("--reference-python")
    parser.add_argument("--reference-dir", default=os.path.join(os.path.dirname(__file__), "../../../../shared/bench"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    from genre_classifier import Classifier
    from genre_classifier.ray_batch import classify, list_inputs

    files = list_inputs(args.folder)
    n = len(files)
    rows = []
    print(f"{n} files from {args.folder}, {args.threads} threads, model gtzan (default coverage)")

    subprocess.run([args.cli, "predict", "--format", "json", files[0]], check=True, capture_output=True)
    t = time.perf_counter()
    subprocess.run([args.cli, "predict", "--format", "json", "--threads", str(args.threads), *files], check=True, capture_output=True)
    timed("(a) genre predict FILES (one process)", n, time.perf_counter() - t, rows)

    from genre_classifier import features

    features(files[0])
    t = time.perf_counter()
    for f in files:
        features(f)
    timed("(e) genre_classifier.features, one file after another", n, time.perf_counter() - t, rows)

    classifier = Classifier()
    classifier.predict(files[0])
    t = time.perf_counter()
    classifier.predict_batch(files)
    timed("(b) Classifier.predict_batch", n, time.perf_counter() - t, rows)

    import ray

    ray.init(num_cpus=args.threads, include_dashboard=False, log_to_driver=False)
    for workers in (1, 2):
        threads = max(1, args.threads // workers)
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            classify(files, os.path.join(out, "p"), workers=workers, threads_per_worker=threads, batch_size=8)
            timed(f"(c) Ray Data job, {workers} worker(s) x {threads} thread(s), incl. start-up", n, time.perf_counter() - t, rows)
    ray.shutdown()

    if args.reference_python:
        out = subprocess.run(
            [args.reference_python, "-c", REFERENCE, os.path.abspath(args.reference_dir), str(args.threads), *files],
            check=True, capture_output=True, text=True,
        )
        pipeline, librosa_features = map(float, out.stdout.strip().splitlines()[-1].split())
        timed("(d) librosa + original pipeline (PyTorch CRNN-BiGRU)", n, pipeline, rows)
        timed("(f) librosa features only (the original's extract_features)", n, librosa_features, rows)
    print(json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
