#!/usr/bin/env python3
"""Which ten-genre head on the frozen musicnn taggers: every variant on artist-disjoint folds.

Reads `cargo xtask embed` outputs (both taggers' `penultimate-taggram` rows, every 3 s patch)
of the GTZAN excerpts, of their crops (`bench/excerpt_crops.py`) and of Emotify, and the
artist-disjoint folds `bench/cross_validate.sh` writes for the GTZAN excerpts (`cargo xtask
split --strategy k-fold --artist-index ... --lists-out DIR --list-kind fold<i>`).

Nested: for each outer fold, the validation figure is an inner 4-fold artist-disjoint
cross-validation over the fold's train and validation clips (the outer split's own
validation sets hold under 20 clips, too few to choose by); the test figure is a head
trained on all of them and read on the outer test clips. A head trains on its clips (plus
the variant's extra examples: crops of those same clips, or Emotify clips) and classifies
a clip by the mean of its patch probabilities. The variant is chosen on the mean
validation accuracy alone; the test column is reported beside it, never used to choose.

    python bench/gtzan_head_study.py --emb /tmp/emb --folds /tmp/gtzan-cv/folds [--seeds 42,43]

`--emb` holds `{excerpts,crops,emotify}-{msd,mtt}/` (each `embeddings.npy`, `segments.csv`).
Prints a Markdown table (mean ± population standard deviation over folds, seeds averaged
first) and writes it, with every per-fold figure, to `--out` as JSON.
"""
import argparse
import csv
import json
import os
import re
import time

import numpy as np
import torch

torch.set_num_threads(1)
GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
# The musicnn taggers' tags (musicnn's `tags` order; `weights/musicnn/tags.json`).
MSD_TAGS = ['rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s',
            'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists', 'classic rock',
            'soul', 'indie rock', 'Mellow', 'electronica', '80s', 'folk', '90s', 'chill', 'instrumental', 'punk',
            'oldies', 'blues', 'hard rock', 'ambient', 'acoustic', 'experimental', 'female vocalist', 'guitar',
            'Hip-Hop', '70s', 'party', 'country', 'easy listening', 'sexy', 'catchy', 'funk', 'electro',
            'heavy metal', 'Progressive rock', '60s', 'rnb', 'indie pop', 'sad', 'House', 'happy']
MTT_TAGS = ['guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast', 'piano',
            'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male', 'singing', 'vocals',
            'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman', 'male vocal', 'no vocal', 'pop', 'soft',
            'sitar', 'solo', 'man', 'classic', 'choir', 'voice', 'new age', 'dance', 'male voice', 'female vocal',
            'beats', 'harp', 'cello', 'no voice', 'weird', 'country', 'metal', 'female voice', 'choral']
# The tags that name (or nearly name) each GTZAN genre: the zero-shot rows and the tag prior.
# Reggae has none in either tagger.
GENRE_TAGS = {"blues": ["msd:blues"], "classical": ["mtt:classical"], "country": ["msd:country"],
              "disco": ["msd:dance", "msd:funk"], "hiphop": ["msd:Hip-Hop"], "jazz": ["msd:jazz"],
              "metal": ["msd:metal", "msd:heavy metal"], "pop": ["msd:pop"], "rock": ["msd:rock", "msd:classic rock"],
              "reggae": []}
# The same, with every tag of that name in either tagger.
GENRE_TAGS_BOTH = {"blues": ["msd:blues"], "classical": ["mtt:classical", "mtt:classic"],
                   "country": ["msd:country", "mtt:country"], "disco": ["msd:dance", "msd:funk", "mtt:dance"],
                   "hiphop": ["msd:Hip-Hop"], "jazz": ["msd:jazz"],
                   "metal": ["msd:metal", "msd:heavy metal", "mtt:metal"], "pop": ["msd:pop", "mtt:pop"],
                   "rock": ["msd:rock", "msd:classic rock", "mtt:rock"], "reggae": []}


def tag_column(tag):
    """A tag's column in a row: MSD penultimate (200), MSD taggram (50), MTT penultimate, MTT taggram."""
    tagger, name = tag.split(":", 1)
    return 200 + MSD_TAGS.index(name) if tagger == "msd" else 450 + MTT_TAGS.index(name)


def read_embedding(folder):
    x = np.load(os.path.join(folder, "embeddings.npy")).astype(np.float32)
    with open(os.path.join(folder, "segments.csv")) as f:
        rows = list(csv.DictReader(f))
    return x, [r["track"] for r in rows]


def read_pair(emb, name):
    xm, tm = read_embedding(os.path.join(emb, f"{name}-msd"))
    xt, tt = read_embedding(os.path.join(emb, f"{name}-mtt"))
    assert tm == tt, f"{name}: the taggers' rows differ"
    return np.concatenate([xm, xt], axis=1), np.array(tm)


def clip_of(track):
    """`blues/blues.00003.crop02.wav` -> `blues/blues.00003`; a clip's own id likewise."""
    return re.sub(r"(\.crop\d+)?\.[^./]+$", "", track)


def artist_groups(clips, index_path):
    """The split's rule (`dataset::split::artist_groups`): one group per named artist, one
    per genre for the clips the index names no artist for."""
    artist = {}
    with open(index_path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("#") or ":::" not in line:
                continue
            fields = [x.strip() for x in line.split(":::")]
            stem = fields[0].rsplit(".", 1)[0]
            genre = stem.split(".")[0]
            artist[f"{genre}/{stem}"] = fields[1].lower() or f":::unknown artist of {genre}"
    return np.array([artist.get(c, c) for c in clips])


def read_folds(folder, k=5):
    """`folder/{train,valid,test}_fold<i>.txt` for i < k, as sets of clip ids."""
    folds = []
    for i in range(k):
        sets = {}
        for part in ("train", "valid", "test"):
            with open(os.path.join(folder, f"{part}_fold{i}.txt")) as f:
                sets[part] = {clip_of(line.strip()) for line in f if line.strip()}
        folds.append(sets)
    return folds


class Data:
    index_path = "../shared/gtzan-sample/metadata/GTZANindex.txt"

    def __init__(self, emb):
        self.x, self.tracks = read_pair(emb, "excerpts")
        self.label = np.array([GENRES.index(t.split("/")[0]) for t in self.tracks])
        self.clip = np.array([clip_of(t) for t in self.tracks])
        self.cx, ct = read_pair(emb, "crops")
        self.clabel = np.array([GENRES.index(t.split("/")[0]) for t in ct])
        self.cclip = np.array([clip_of(t) for t in ct])
        if not os.path.exists(os.path.join(emb, "emotify-mtt", "embeddings.npy")):
            self.ex, self.elabel = np.zeros((0, self.x.shape[1]), np.float32), np.zeros(0, int)
            print("no Emotify embeddings: the Emotify variants train without them")
        else:
            self.read_emotify(emb)
        self.pools = []
        for tagger in ("msd", "mtt"):
            folder = os.path.join(emb, f"pools-excerpts-{tagger}")
            if os.path.exists(os.path.join(folder, "embeddings.npy")):
                pools, tracks = read_embedding(folder)
                assert tracks == list(self.tracks), "the pools' rows differ from the embeddings'"
                self.pools.append(pools)
        self.n_patches = {c: n for c, n in zip(*np.unique(self.clip, return_counts=True))}
        self.clips = np.array(sorted(set(self.clip)))
        self.clip_label = np.array([GENRES.index(c.split("/")[0]) for c in self.clips])
        self.groups = artist_groups(self.clips, self.index_path)

    def row_weight(self, clip, weight, train_clips):
        """A patch's weight: 1; or each clip's patches sum to 1 (`clip`); or each artist
        group's patches sum to 1 (`artist`), or to the square root of its clip count
        (`sqrt-artist`), among `train_clips`."""
        if weight is None:
            return 1.0
        w = 1.0 / self.n_patches[clip]
        if weight in ("artist", "sqrt-artist"):
            group = self.groups[np.searchsorted(self.clips, clip)]
            if not hasattr(self, "_group_sizes") or self._group_key is not train_clips:
                members = self.groups[np.isin(self.clips, list(train_clips))]
                self._group_sizes, self._group_key = dict(zip(*np.unique(members, return_counts=True))), train_clips
            n = self._group_sizes[group]
            w /= n if weight == "artist" else np.sqrt(n)
        return w

    def read_emotify(self, emb):
        ex, et = read_pair(emb, "emotify")
        eg = np.array([t.split("/")[0] for t in et])
        keep = np.isin(eg, ["classical", "pop", "rock"])
        self.ex, self.elabel = ex[keep], np.array([GENRES.index(g) for g in eg[keep]])
        self.etrack = np.array(et)[keep]


def train_head(x, y, w, seed, hidden, epochs, lr, wd, dropout, mixup):
    """AdamW on cross-entropy, minibatch 32, inputs standardised on the training rows."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    d = x.shape[1]
    if hidden:
        model = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(d, hidden), torch.nn.ReLU(),
                                    torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 10))
    else:
        model = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(d, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    xs = torch.from_numpy((x - mean) / std)
    ys = torch.from_numpy(y).long()
    ws = torch.from_numpy(w / w.mean()).float()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xs), generator=g)
        for i in range(0, len(xs), 32):
            b = perm[i:i + 32]
            xb, yb, wb = xs[b], ys[b], ws[b]
            opt.zero_grad()
            if mixup:
                lam = float(np.random.default_rng(seed * 1000 + i).beta(mixup, mixup))
                other = torch.randperm(len(b), generator=g)
                logits = model(lam * xb + (1 - lam) * xb[other])
                ce = torch.nn.functional.cross_entropy
                loss = (wb * (lam * ce(logits, yb, reduction="none")
                              + (1 - lam) * ce(logits, yb[other], reduction="none"))).mean()
            else:
                loss = (wb * torch.nn.functional.cross_entropy(model(xb), yb, reduction="none")).mean()
            loss.backward()
            opt.step()
    model.eval()

    def predict(xq):
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy((xq - mean) / std)), -1).numpy()
    return predict


def track_accuracy(prob, clips, labels, subset):
    """Track accuracy over the clips in `subset` (mean of patch probabilities), and over its short ones."""
    correct, short_correct, short = [], [], []
    for c in sorted(subset):
        rows = clips == c
        if not rows.any():
            continue
        ok = int(prob[rows].mean(0).argmax() == labels[rows][0])
        correct.append(ok)
        if rows.sum() == 1:
            short_correct.append(ok)
    return float(np.mean(correct)), float(np.mean(short_correct)) if short_correct else float("nan")


# Columns of a row: MSD penultimate (200), MSD taggram (50), MTT penultimate, MTT taggram.
COLUMNS = {"all": np.arange(500), "taggram": np.r_[200:250, 450:500], "penultimate": np.r_[0:200, 250:450]}
VARIANTS = {
    # name: (head options, extra examples, per-row weighting)
    "linear (bundled recipe)": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0),
    "linear, 30 epochs": dict(hidden=0, epochs=30, lr=1e-3, wd=1.0, dropout=0.0),
    "linear, wd 1e-2": dict(hidden=0, epochs=12, lr=1e-3, wd=1e-2, dropout=0.0),
    "linear, dropout 0.5": dict(hidden=0, epochs=20, lr=1e-3, wd=1.0, dropout=0.5),
    "linear, clips weighted equally": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, weight="clip"),
    "linear, artists weighted equally": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, weight="artist"),
    "linear, artists weighted by sqrt": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0,
                                             weight="sqrt-artist"),
    "linear, clips weighted equally + Emotify": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, weight="clip",
                                                     emotify=True),
    "linear, clips weighted equally + crops": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, weight="clip",
                                                   crops=True),
    "linear, clips weighted equally, fused with the tags (0.3)": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0,
                                                                      dropout=0.0, weight="clip", fusion=0.3),
    "linear, clips weighted equally, fused with the tags (0.5)": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0,
                                                                      dropout=0.0, weight="clip", fusion=0.5),
    "linear, clips weighted equally, fused with the tags (0.7)": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0,
                                                                      dropout=0.0, weight="clip", fusion=0.7),
    "linear, clips weighted equally, fused with both taggers' tags (0.5)": dict(
        hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, weight="clip", fusion=0.5, both_taggers_tags=True),
    "linear, clips weighted equally + crops, fused with the tags (0.5)": dict(
        hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, weight="clip", crops=True, fusion=0.5),
    # Needs `embed --layer pools` of the excerpts in `--emb`/pools-excerpts-{msd,mtt}.
    "both taggers' dense layers fine-tuned (lr 1e-4) with the head, clips weighted equally, fused with the tags (0.5)":
        dict(backend_lr=1e-4),
    "both taggers' dense layers fine-tuned (lr 1e-3) with the head, clips weighted equally, fused with the tags (0.5)":
        dict(backend_lr=1e-3),
    # The chosen recipe's neighbours, once fused: epochs and weight decay.
    "linear, clips weighted equally, fused with the tags (0.5), 6 epochs": dict(
        hidden=0, epochs=6, lr=1e-3, wd=1.0, dropout=0.0, weight="clip", fusion=0.5),
    "linear, clips weighted equally, fused with the tags (0.5), 24 epochs": dict(
        hidden=0, epochs=24, lr=1e-3, wd=1.0, dropout=0.0, weight="clip", fusion=0.5),
    "linear, clips weighted equally, fused with the tags (0.5), wd 0.1": dict(
        hidden=0, epochs=12, lr=1e-3, wd=0.1, dropout=0.0, weight="clip", fusion=0.5),
    "linear, clips weighted equally, fused with the tags (0.5), wd 3": dict(
        hidden=0, epochs=12, lr=1e-3, wd=3.0, dropout=0.0, weight="clip", fusion=0.5),
    "linear, fused with the tags (0.5)": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, fusion=0.5),
    "linear + crops": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, crops=True),
    "linear + Emotify": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, emotify=True),
    "linear + crops + Emotify": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, crops=True, emotify=True),
    "linear, mixup 0.4": dict(hidden=0, epochs=20, lr=1e-3, wd=1.0, dropout=0.0, mixup=0.4),
    "linear, taggrams only": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, cols="taggram"),
    "linear, penultimates only": dict(hidden=0, epochs=12, lr=1e-3, wd=1.0, dropout=0.0, cols="penultimate"),
    "linear, wd 10": dict(hidden=0, epochs=12, lr=1e-3, wd=10.0, dropout=0.0),
    "linear, lr 3e-4": dict(hidden=0, epochs=12, lr=3e-4, wd=1.0, dropout=0.0),
    "MLP 256, dropout 0.5": dict(hidden=256, epochs=30, lr=1e-3, wd=1e-2, dropout=0.5),
    "MLP 256 + crops": dict(hidden=256, epochs=30, lr=1e-3, wd=1e-2, dropout=0.5, crops=True),
    "MLP 256 + crops + Emotify": dict(hidden=256, epochs=30, lr=1e-3, wd=1e-2, dropout=0.5, crops=True, emotify=True),
    "MLP 256, mixup 0.4": dict(hidden=256, epochs=30, lr=1e-3, wd=1e-2, dropout=0.5, mixup=0.4),
}


def pretrained_backend(tagger):
    """musicnn's backend (`weights/musicnn/ARCHITECTURE.md`): pools -> BN -> dense -> ReLU ->
    BN = penultimate, -> output -> sigmoid = taggram; batch norms on their running statistics."""
    import torch.nn as nn
    weights = torch.load(os.path.join(os.path.dirname(__file__), "..", "weights", "musicnn", f"{tagger}_musicnn.pt"))

    class Backend(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense, self.output = nn.Linear(1506, 200), nn.Linear(200, 50)
            for name in ("dense", "output"):
                getattr(self, name).weight.data = weights[f"backend.{name}.weight"].float().clone()
                getattr(self, name).bias.data = weights[f"backend.{name}.bias"].float().clone()
            self.bn = {n: [weights[f"backend.{n}.{k}"].float() for k in ("weight", "bias", "running_mean", "running_var")]
                       for n in ("pool_bn", "dense_bn")}

        def norm(self, x, name):
            w, b, m, v = self.bn[name]
            return (x - m) / torch.sqrt(v + 1e-3) * w + b

        def forward(self, pools):  # [B, 1506]: our layout, 753 mean pools then 753 max pools
            flat = torch.stack([pools[:, 753:], pools[:, :753]], -1).reshape(len(pools), 1506)  # max, mean interleaved
            pen = self.norm(torch.relu(self.dense(self.norm(flat, "pool_bn"))), "dense_bn")
            return torch.cat([pen, torch.sigmoid(self.output(pen))], 1)
    return Backend()


def fine_tuned_scores(data, opts, seeds, train_clips, score_clips):
    """Both taggers' backends (their dense layers) fine-tuned with the head, on their pools."""
    rows = np.isin(data.clip, list(train_clips))
    w = np.array([data.row_weight(c, "clip", train_clips) for c in data.clip[rows]])
    ws = torch.from_numpy(w / w.mean()).float()
    pools = [torch.from_numpy(p) for p in data.pools]
    ys = torch.from_numpy(data.label[rows]).long()
    scores = []
    for seed in seeds:
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        backends = [pretrained_backend("msd"), pretrained_backend("mtt")]
        with torch.no_grad():
            start = torch.cat([b(p[rows]) for b, p in zip(backends, pools)], 1)
        mean, std = start.mean(0), start.std(0) + 1e-6
        head = torch.nn.Linear(500, 10)
        opt = torch.optim.AdamW([{"params": head.parameters(), "lr": 1e-3, "weight_decay": 1.0}]
                                + [{"params": b.parameters(), "lr": opts["backend_lr"], "weight_decay": 1e-2}
                                   for b in backends])
        forward = lambda sel: head((torch.cat([b(p[sel]) for b, p in zip(backends, pools)], 1) - mean) / std)
        index = np.flatnonzero(rows)
        for _ in range(12):
            perm = torch.randperm(len(index), generator=g)
            for i in range(0, len(index), 32):
                b = perm[i:i + 32]
                opt.zero_grad()
                loss = (ws[b] * torch.nn.functional.cross_entropy(forward(index[b.numpy()]), ys[b],
                                                                    reduction="none")).mean()
                loss.backward()
                opt.step()
        with torch.no_grad():
            prob = torch.softmax(forward(np.arange(len(data.clip))), -1).numpy()
        prob = fuse_with_tags(prob, data.x, 0.5)  # the pretrained taggers' tags, as the prior
        scores.append(track_accuracy(prob, data.clip, data.label, score_clips))
    return np.mean(scores, axis=0).tolist()


def fit_and_score(data, opts, seeds, train_clips, score_clips):
    if "backend_lr" in opts:
        return fine_tuned_scores(data, opts, seeds, train_clips, score_clips)
    """Mean over seeds of (track accuracy, short-clip accuracy) on `score_clips` of a head
    trained on `train_clips` and the variant's extras."""
    opts = dict(opts)
    crops, emotify, weight = opts.pop("crops", False), opts.pop("emotify", False), opts.pop("weight", None)
    mixup = opts.pop("mixup", 0.0)
    fusion = opts.pop("fusion", 0.0)
    mapping = GENRE_TAGS_BOTH if opts.pop("both_taggers_tags", False) else GENRE_TAGS
    cols = COLUMNS[opts.pop("cols", "all")]
    rows = np.isin(data.clip, list(train_clips))
    x, y = [data.x[rows]], [data.label[rows]]
    w = [np.array([data.row_weight(c, weight, train_clips) for c in data.clip[rows]])]
    if crops:
        crow = np.isin(data.cclip, list(train_clips))
        x.append(data.cx[crow]), y.append(data.clabel[crow]), w.append(np.ones(crow.sum()))
    if emotify:
        x.append(data.ex), y.append(data.elabel), w.append(np.ones(len(data.elabel)))
    x, y, w = np.concatenate(x)[:, cols], np.concatenate(y), np.concatenate(w)
    scores = []
    for seed in seeds:
        prob = train_head(x, y, w, seed, mixup=mixup, **opts)(data.x[:, cols])
        if fusion:
            prob = fuse_with_tags(prob, data.x, fusion, mapping)
        scores.append(track_accuracy(prob, data.clip, data.label, score_clips))
    return np.mean(scores, axis=0).tolist()


def inner_folds(data, clips, k=4, seed=0):
    """Artist-disjoint, genre-stratified k-fold over `clips` (sklearn's StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold
    clips = np.array(sorted(clips))
    at = np.searchsorted(data.clips, clips)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, held in splitter.split(clips, data.clip_label[at], data.groups[at]):
        yield set(clips[train]), set(clips[held])


def run_variant(data, folds, opts, seeds):
    per_fold = []
    for fold in folds:
        outer = fold["train"] | fold["valid"]
        inner = [fit_and_score(data, opts, seeds, train, held) for train, held in inner_folds(data, outer)]
        valid = np.nanmean(inner, axis=0).tolist()
        per_fold.append(valid + fit_and_score(data, opts, seeds, outer, fold["test"]))
    return per_fold


def zero_shot_scores(x, mapping=None):
    """Each genre's score from the taggers' own tags (`GENRE_TAGS`): the highest of its tags'
    probabilities; -1 for a genre no tag names."""
    scores = np.full((len(x), 10), -1.0)
    for g, tags in (mapping or GENRE_TAGS).items():
        if tags:
            scores[:, GENRES.index(g)] = x[:, [tag_column(t) for t in tags]].max(1)
    return scores


def fuse_with_tags(prob, x, alpha, mapping=None):
    """`prob^(1 - alpha) * tags^alpha`, renormalised: the tags as a prior that knows no
    artist of the training set. A genre without a tag gets the row's mean tag score."""
    tags = zero_shot_scores(x, mapping)
    missing = tags < 0
    tags[missing] = 0.0
    mean = tags.sum(1, keepdims=True) / (~missing).sum(1, keepdims=True)
    tags = np.where(missing, mean, tags)
    tags = tags / tags.sum(1, keepdims=True)
    fused = prob ** (1 - alpha) * (tags + 1e-6) ** alpha
    return fused / fused.sum(1, keepdims=True)


def zero_shot(data, folds):
    """The taggers' own genre tags, no training: the track takes the genre of its highest
    mean tag score (`zero_shot_scores`)."""
    prob = zero_shot_scores(data.x)  # reggae has no tag: never predicted
    return [list(track_accuracy(prob, data.clip, data.label, f["train"] | f["valid"])
                 + track_accuracy(prob, data.clip, data.label, f["test"])) for f in folds]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="/tmp/emb")
    ap.add_argument("--folds", default="/tmp/gtzan-cv/folds")
    ap.add_argument("--seeds", default="42,43")
    ap.add_argument("--only", default="", help="semicolon-separated variant names (default: all)")
    ap.add_argument("--out", default="/tmp/gtzan_head_study.json")
    a = ap.parse_args()
    data, folds = Data(a.emb), read_folds(a.folds)
    seeds = [int(s) for s in a.seeds.split(",")]
    results = {"zero-shot MSD tags (no training)": zero_shot(data, folds)}
    names = [n for n in VARIANTS if not a.only or n in a.only.split(";")]
    for name in names:
        t0 = time.time()
        results[name] = run_variant(data, folds, VARIANTS[name], seeds)
        m = np.mean(results[name], axis=0)
        print(f"{name}: valid {m[0]:.3f} test {m[2]:.3f} ({time.time() - t0:.0f} s)", flush=True)
    print("\n| variant | valid track | valid short | test track | test short |\n|---|---|---|---|---|")
    for name, per_fold in results.items():
        f = np.array(per_fold)
        cell = lambda j: f"{np.nanmean(f[:, j]):.3f} ± {np.nanstd(f[:, j]):.3f}"
        print(f"| {name} | {cell(0)} | {cell(1)} | {cell(2)} | {cell(3)} |")
    json.dump({"folds": len(folds), "seeds": seeds, "per_fold_valid_validshort_test_testshort": results},
              open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
