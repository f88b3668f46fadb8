"""Write the k-fold split lists that `../shared/bench/torch_reference.py train --folds K --fold I`
uses, so that our runs (`cargo xtask train --strategy lists --lists DIR --list-kind foldI`) test
on exactly the same tracks as the PyTorch reference.

    python bench/sklearn_folds.py --data ../shared/emotify --folds 5 --out DIR

Writes DIR/{train,valid,test}_fold{I}.txt, one `genre/file` per line. The selection is the
reference's own: genres are the sorted sub-folders, tracks the sorted audio files in each,
StratifiedKFold(shuffle=True, random_state=seed), then a stratified 15/85 validation split of the
rest with the same seed.
"""
import argparse, os

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--folds", type=int, default=5)
ap.add_argument("--seed", type=int, default=42)
ap.add_argument("--out", required=True)
a = ap.parse_args()

genres = sorted(d for d in os.listdir(a.data) if os.path.isdir(os.path.join(a.data, d)) and not d.startswith("_"))
tracks, labels = [], []
for gi, g in enumerate(genres):
    for f in sorted(os.listdir(os.path.join(a.data, g))):
        if f.lower().endswith((".wav", ".au", ".mp3", ".ogg", ".flac")):
            tracks.append(f"{g}/{f}")
            labels.append(gi)
labels = np.array(labels)
idx = np.arange(len(tracks))
skf = StratifiedKFold(n_splits=a.folds, shuffle=True, random_state=a.seed)
os.makedirs(a.out, exist_ok=True)
for fold, (rest, test) in enumerate(skf.split(idx, labels)):
    train, val = train_test_split(rest, test_size=0.15 / 0.85, stratify=labels[rest], random_state=a.seed)
    for name, ids in (("train", train), ("valid", val), ("test", test)):
        with open(os.path.join(a.out, f"{name}_fold{fold}.txt"), "w") as fh:
            fh.writelines(tracks[i] + "\n" for i in sorted(ids))
    print(f"fold {fold}: train {len(train)}, valid {len(val)}, test {len(test)}")
