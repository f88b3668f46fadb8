"""Classify a catalogue on a Ray cluster with Ray Data.

    python -m genre_classifier.ray_batch INPUT OUTPUT [--model gtzan] [--workers 2]
        [--threads-per-worker 1] [--batch-size 16] [--address auto]

INPUT is a folder (walked for audio files), a text file of paths (one per line) or a glob
(quote it); OUTPUT a folder of Parquet files, one row per input with the columns
``file``, ``prediction``, ``probabilities`` (in the order of ``labels``), ``labels``,
``top_k``, ``top_k_probabilities`` and ``error`` (null, or why the file could not be
classified: an unreadable file is a row, never a failed job). Progress is Ray's own.

Each worker is a Ray actor holding one :class:`genre_classifier.Classifier` (the model is
loaded once per worker, not per file) fed batches of paths by ``map_batches``. Without
``--address`` the job starts a local Ray instance; ``--address auto`` joins the cluster
``ray start`` made on this machine, ``--address HOST:6379`` a remote one (README's
"Classifying a catalogue on a cluster" gives the steps). Every node needs the package
installed and the files at the same paths (a shared or object-store mount).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from typing import Any, Dict, List, Optional

import numpy as np

AUDIO_EXTENSIONS = ("wav", "wave", "au", "snd", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac")


def list_inputs(spec: str) -> List[str]:
    """The files INPUT names, sorted: a folder's audio files, a list file's lines, or a glob's matches."""
    if os.path.isdir(spec):
        found = []
        for root, _, names in os.walk(spec):
            found += [os.path.join(root, n) for n in names if n.rsplit(".", 1)[-1].lower() in AUDIO_EXTENSIONS]
        return sorted(found)
    if os.path.isfile(spec) and spec.endswith(".txt"):
        with open(spec, encoding="utf-8") as lines:
            return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return sorted(glob.glob(spec, recursive=True))


class Predictor:
    """A Ray Data callable class: one classifier per actor, a batch of paths per call."""

    def __init__(self, model: str, device: str, top_k: int, aggregation: str) -> None:
        from genre_classifier import Classifier

        self.classifier = Classifier(model, device)
        self.top_k = top_k
        self.aggregation = aggregation

    def __call__(self, batch: Dict[str, np.ndarray]) -> Any:
        import pyarrow as pa

        files = [str(f) for f in batch["file"]]
        answers = self.classifier.predict_batch(files, self.aggregation, self.top_k, errors="return")
        labels = self.classifier.labels
        ok = ["error" not in a for a in answers]
        return pa.table(
            {
                "file": pa.array(files, pa.string()),
                "prediction": pa.array([a.get("prediction") for a in answers], pa.string()),
                "probabilities": pa.array([a.get("probabilities") for a in answers], pa.list_(pa.float32())),
                "labels": pa.array([labels if good else None for good in ok], pa.list_(pa.string())),
                "top_k": pa.array(
                    [[t["genre"] for t in a["top_k"]] if good else None for a, good in zip(answers, ok)],
                    pa.list_(pa.string()),
                ),
                "top_k_probabilities": pa.array(
                    [[t["probability"] for t in a["top_k"]] if good else None for a, good in zip(answers, ok)],
                    pa.list_(pa.float32()),
                ),
                "error": pa.array([a.get("error") for a in answers], pa.string()),
            }
        )


def classify(
    files: List[str],
    output: str,
    model: str = "gtzan",
    device: str = "cpu",
    workers: int = 1,
    threads_per_worker: int = 1,
    batch_size: int = 16,
    top_k: int = 3,
    aggregation: str = "mean",
) -> None:
    """Runs the job on the Ray instance this process is connected to (``ray.init``)."""
    import ray

    dataset = ray.data.from_items([{"file": f} for f in files])
    predictions = dataset.map_batches(
        Predictor,
        fn_constructor_kwargs={"model": model, "device": device, "top_k": top_k, "aggregation": aggregation},
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=workers,
        num_cpus=threads_per_worker,
        # The classifier's own thread pool gets the cores Ray gives the actor.
        runtime_env={"env_vars": {"RAYON_NUM_THREADS": str(threads_per_worker)}},
    )
    predictions.write_parquet(output)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_classifier.ray_batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="a folder, a .txt file of paths, or a glob")
    parser.add_argument("output", help="a folder for the Parquet files")
    parser.add_argument("--model", default="gtzan")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1, help="Ray actors, each with its own model")
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16, help="files per call of a worker")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--aggregate", default="mean", choices=["mean", "median", "max", "vote"])
    parser.add_argument("--address", default=None, help="a running cluster: auto, or HOST:PORT")
    args = parser.parse_args(argv)
    files = list_inputs(args.input)
    if not files:
        print(f"error: {args.input}: no audio files", file=sys.stderr)
        return 1
    import ray

    ray.init(address=args.address)
    try:
        classify(
            files, args.output, args.model, args.device, args.workers, args.threads_per_worker,
            args.batch_size, args.top_k, args.aggregate,
        )
    finally:
        ray.shutdown()
    print(f"{len(files)} files classified into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
