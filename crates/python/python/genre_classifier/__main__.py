"""``python -m genre_classifier predict FILE...``: one JSON object per file, as
``genre predict --format json`` prints them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from . import Classifier, GenreError, bundled_models


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_classifier", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="classify audio files")
    predict.add_argument("files", nargs="+")
    predict.add_argument("--model", default="gtzan", help=f"{' or '.join(bundled_models())}, or a model file")
    predict.add_argument("--device", default="cpu", choices=["cpu", "wgpu", "cuda"])
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("--aggregate", default="mean", choices=["mean", "median", "max", "vote"])
    args = parser.parse_args(argv)
    try:
        classifier = Classifier(args.model, args.device)
    except GenreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    failed = 0
    for answer in classifier.predict_batch(args.files, args.aggregate, args.top_k, errors="return"):
        if "error" in answer:
            print(f"error: {answer['error']}", file=sys.stderr)
            failed += 1
        else:
            print(json.dumps(answer))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
