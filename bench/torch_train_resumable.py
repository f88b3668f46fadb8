#!/usr/bin/env python3
"""`torch_reference.py train`, able to resume after it is killed.

A work session here ends abruptly, and a PyTorch fold takes up to an hour at one thread, so the
issue-6 side-by-side needs the reference's training to survive a kill as ours does (`--resume`).
This is the loop of `../shared/bench/torch_reference.py cmd_train`, line for line, with one
addition: after every epoch it writes a checkpoint (model, optimiser, the global torch RNG that
drives shuffling and dropout, the early-stopping state and the elapsed training time), atomically.
Started again with the same arguments it continues from there, so a resumed run makes the same
epochs as one that was never interrupted. The model, features, split and recipe are the
reference's own (imported from it, not copied).

    python bench/torch_train_resumable.py --checkpoint CK.pt -- train --data DIR --model crnn-bigru \
        --folds 5 --fold 0 --threads 1 > result.json

The printed JSON is the reference's, plus `resumed_at_epochs` (the epochs done before each
restart) so a reader can see a run was interrupted; `train_seconds` sums the time of all parts.
"""
import argparse, json, os, sys, time

# The reference lives in ../shared/bench beside the project (override with TORCH_REFERENCE_DIR).
REFERENCE_DIR = os.environ.get(
    "TORCH_REFERENCE_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
sys.path.insert(0, REFERENCE_DIR)
import torch_reference as ref  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", required=True)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    outer = p.parse_args()
    rest = [r for r in outer.rest if r != "--"]
    if not rest or rest[0] != "train":
        sys.exit("usage: torch_train_resumable.py --checkpoint CK.pt -- train ARGS...")
    # Parse the train arguments with the reference's own defaults.
    t = argparse.ArgumentParser()
    t.add_argument("--data", required=True)
    t.add_argument("--model", default="crnn-bigru")
    t.add_argument("--cache", default="/tmp/torch_reference_cache")
    t.add_argument("--segments", type=int, default=10)
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--patience", type=int, default=7)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--folds", type=int, default=0)
    t.add_argument("--fold", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    # The project's own split as list files (`cargo xtask split ... --lists-out DIR`), so both
    # sides train and test on the same tracks (e.g. artist-disjoint folds); replaces --folds.
    # Every 3 s segment of each clip, as our `train --whole-track --test-whole-track`: a final
    # partial segment is zero-padded and kept when at least half a segment long or the only
    # one (so a 2 s excerpt is one segment, not one segment and nine of silence).
    t.add_argument("--whole-track", action="store_true")
    t.add_argument("--lists")
    t.add_argument("--list-kind", default="artist")
    a = t.parse_args(rest[1:])
    import torch
    import torch.nn as nn
    torch.set_num_threads(a.threads)
    train(a, outer.checkpoint, torch, nn)


def train(a, checkpoint, torch, nn):
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, train_test_split

    genres = sorted(d for d in os.listdir(a.data) if os.path.isdir(os.path.join(a.data, d)) and not d.startswith("_"))
    tracks, labels = [], []
    for gi, g in enumerate(genres):
        for f in sorted(os.listdir(os.path.join(a.data, g))):
            if f.lower().endswith((".wav", ".au", ".mp3", ".ogg", ".flac")):
                tracks.append(os.path.join(a.data, g, f))
                labels.append(gi)
    tracks, labels = np.array(tracks), np.array(labels)
    idx = np.arange(len(tracks))
    if a.lists:
        ids = {os.path.relpath(t, a.data).replace(os.sep, "/"): i for i, t in enumerate(tracks)}

        def listed(part):
            with open(os.path.join(a.lists, f"{part}_{a.list_kind}.txt")) as f:
                return np.array([ids[line.strip()] for line in f if line.strip()], dtype=int)
        train_ids, val, test = listed("train"), listed("valid"), listed("test")
    elif a.folds:
        skf = StratifiedKFold(n_splits=a.folds, shuffle=True, random_state=a.seed)
        rest, test = list(skf.split(idx, labels))[a.fold]
        train_ids, val = train_test_split(rest, test_size=0.15 / 0.85, stratify=labels[rest], random_state=a.seed)
    else:
        train_ids, tmp = train_test_split(idx, test_size=0.30, stratify=labels, random_state=a.seed)
        val, test = train_test_split(tmp, test_size=0.50, stratify=labels[tmp], random_state=a.seed)

    t_feat = time.perf_counter()
    feats = {i: ref.track_features(tracks[i], whole_track_segments(tracks[i]) if a.whole_track else a.segments,
                                   a.cache) for i in idx}
    t_feat = time.perf_counter() - t_feat

    def seg_set(ids):
        x = np.concatenate([feats[i] for i in ids])
        y = np.concatenate([[labels[i]] * len(feats[i]) for i in ids])
        return torch.from_numpy(x), torch.from_numpy(y).long()

    xtr, ytr = seg_set(train_ids)
    xva, yva = seg_set(val)
    torch.manual_seed(a.seed)
    m = ref.build(a.model, len(genres), torch, nn)
    opt = torch.optim.Adam(m.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()

    def predict(x):
        m.eval()
        with torch.no_grad():
            return torch.cat([torch.softmax(m(x[i:i + 256]), -1) for i in range(0, len(x), 256)])

    best, best_state, wait, epochs, done, stopped = -1.0, None, 0, 0, 0.0, False
    resumed = []
    if os.path.exists(checkpoint):
        ck = torch.load(checkpoint, weights_only=False)
        m.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"])
        best, best_state, wait, epochs = ck["best"], ck["best_state"], ck["wait"], ck["epochs"]
        done, stopped, resumed = ck["train_seconds"], ck["stopped"], ck["resumed_at_epochs"] + [ck["epochs"]]
    t0 = time.perf_counter()
    for epoch in range(epochs, a.epochs):
        if stopped:
            break
        m.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), a.batch):
            b = perm[i:i + a.batch]
            opt.zero_grad()
            loss_fn(m(xtr[b]), ytr[b]).backward()
            opt.step()
        acc = (predict(xva).argmax(-1) == yva).float().mean().item()
        epochs += 1
        print(json.dumps({"epoch": epoch + 1, "val_segment_accuracy": acc}), file=sys.stderr, flush=True)
        if acc > best:
            best, wait = acc, 0
            best_state = {k: v.clone() for k, v in m.state_dict().items()}
        else:
            wait += 1
            stopped = wait >= a.patience
        tmp = checkpoint + ".tmp"
        torch.save({"model": m.state_dict(), "optimizer": opt.state_dict(), "rng": torch.get_rng_state(),
                    "best": best, "best_state": best_state, "wait": wait, "epochs": epochs,
                    "stopped": stopped, "resumed_at_epochs": resumed,
                    "train_seconds": done + time.perf_counter() - t0}, tmp)
        os.replace(tmp, checkpoint)
    train_seconds = done + time.perf_counter() - t0
    m.load_state_dict(best_state)
    seg_correct = seg_total = trk_correct = 0
    for i in test:
        p = predict(torch.from_numpy(feats[i]))
        seg_correct += int((p.argmax(-1) == labels[i]).sum())
        seg_total += len(p)
        trk_correct += int(p.mean(0).argmax() == labels[i])
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}", "model": a.model, "genres": genres,
        "tracks": {"train": len(train_ids), "val": len(val), "test": len(test)},
        "fold": a.fold if a.folds else None, "folds": a.folds or None, "lists": a.lists,
        "segments_per_track": "whole track" if a.whole_track else a.segments,
        "epochs": epochs, "best_val_segment_accuracy": best,
        "test_segment_accuracy": seg_correct / seg_total, "test_track_accuracy": trk_correct / len(test),
        "feature_seconds": t_feat, "train_seconds": train_seconds, "threads": torch.get_num_threads(),
        "resumed_at_epochs": resumed,
    }))


def whole_track_segments(path, sr=22050, seg=66150):
    """Segments our whole-track mode makes of `path` (its length after resampling to `sr`)."""
    import math
    import soundfile as sf
    info = sf.info(path)
    n = math.ceil(info.frames * sr / info.samplerate)
    full, rest = divmod(n, seg)
    return max(1, full + (1 if rest and (2 * rest >= seg) else 0))


if __name__ == "__main__":
    main()
