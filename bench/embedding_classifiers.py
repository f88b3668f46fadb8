"""Classifiers from scikit-learn on musicnn embeddings exported by `cargo xtask embed`, on the
k-fold lists of `bench/sklearn_folds.py`: how far other heads get on the same folds.

    for m in msd mtt; do for l in pools penultimate taggram; do
      cargo xtask embed --data ../shared/emotify --model $m --layer $l --out EMB/$m-$l; done; done
    python bench/sklearn_folds.py --data ../shared/emotify --out FOLDS
    python bench/embedding_classifiers.py --embeddings EMB --folds FOLDS

Each configuration trains on train + valid tracks of a fold and reports mean +- std of the
track accuracy over the five test folds. "segment" trains on the ten 3 s segments of each
track and averages their probabilities; "mean" / "meanstd" train on one vector per track (the
mean, or mean and std, of its segments' embeddings). Picking the best of many configurations
by these test-fold figures overstates it; they are for orientation, not a result.
"""
import argparse, csv, os, warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

warnings.filterwarnings("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--embeddings", required=True)
ap.add_argument("--folds", required=True)
ap.add_argument("--k", type=int, default=5)
a = ap.parse_args()


def load(name):
    d = os.path.join(a.embeddings, name)
    return np.load(os.path.join(d, "embeddings.npy")), list(csv.DictReader(open(os.path.join(d, "segments.csv"))))


_, rows = load("msd-pools")
tracks = [r["track"] for r in rows]
ids = list(dict.fromkeys(tracks))
index = {t: i for i, t in enumerate(ids)}
genres = sorted({r["genre"] for r in rows})
seg_track = np.array([index[t] for t in tracks])
label = {r["track"]: genres.index(r["genre"]) for r in rows}
y = np.array([label[t] for t in ids])


def fold(i):
    read = lambda kind: [index[l.strip()] for l in open(os.path.join(a.folds, f"{kind}_fold{i}.txt")) if l.strip()]
    return read("train") + read("valid"), read("test")


def evaluate(X, make, level):
    accuracies = []
    for i in range(a.k):
        train, test = fold(i)
        if level == "segment":
            mask = np.isin(seg_track, train)
            P = make().fit(X[mask], y[seg_track[mask]]).predict_proba(X)
            predicted = np.array([P[seg_track == t].mean(0).argmax() for t in test])
        else:
            pool = (lambda s: np.concatenate([s.mean(0), s.std(0)])) if level == "meanstd" else (lambda s: s.mean(0))
            T = np.stack([pool(X[seg_track == t]) for t in range(len(ids))])
            predicted = make().fit(T[train], y[train]).predict(T[test])
        accuracies.append((predicted == y[test]).mean())
    return np.mean(accuracies), np.std(accuracies)


LR = lambda C: (lambda: make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000)))
SVM = lambda C: (lambda: make_pipeline(StandardScaler(), SVC(C=C, kernel="rbf")))
print("| embeddings | classifier | track accuracy |\n|---|---|---|")
for names in [["msd-pools"], ["mtt-pools"], ["msd-pools", "mtt-pools"], ["msd-penultimate", "mtt-penultimate"],
              ["msd-penultimate", "mtt-penultimate", "msd-taggram", "mtt-taggram"]]:
    X = np.concatenate([load(n)[0] for n in names], 1)
    for label_, make, level in [("logistic regression C=0.01, segments", LR(0.01), "segment"),
                                ("logistic regression C=0.003, segments", LR(0.003), "segment"),
                                ("RBF SVM C=1, track means", SVM(1), "mean"),
                                ("RBF SVM C=3, track mean+std", SVM(3), "meanstd")]:
        m, s = evaluate(X, make, level)
        print(f"| {' + '.join(names)} | {label_} | {m:.3f} ± {s:.3f} |", flush=True)
