"""Hyperparameters for a linear genre head on both musicnn taggers, chosen on validation only.

Issue 9's next step after bench/embedding_classifiers.py (whose best figures were picked on
the test folds). Reads `cargo xtask embed` outputs and bench/sklearn_folds.py's folds.

Model: concat(frozen MSD + MTT per-segment embeddings) -> standardise (train-segment mean/std)
-> [Dropout(p)] -> Linear(d, 4); cross-entropy on segments, AdamW, minibatch 32;
track prediction = mean of segment softmax probabilities.

All 12 grid configs (lr x wd x dropout) of one (input set, fold, seed) are trained side by side
as a batch of independent linear models (same shuffling order, own init/dropout masks, own
AdamW state, manual AdamW identical to torch.optim.AdamW defaults: betas .9/.999, eps 1e-8,
decoupled decay on weight and bias).

Per (input, fold, seed) two runs of MAXEP epochs:
  curve : fit on train tracks; after every epoch record valid track acc / valid segment acc /
          valid NLL and test track acc  (test is only *read out* at the selected epoch).
  refit : fit on train+valid tracks (standardised on train+valid), record test track acc per
          epoch (read out at the epoch count chosen from the curve run's validation).
Protocol A = early stopping simulated on the curve run (patience 7, strict improvement, best
weights restored -> test acc of best epoch). Deterministic training means a run stopped at epoch
e is identical to the first e epochs of the full run.
Protocol B = epochs chosen on the validation curve, test acc of the refit run at that epoch.
Selection uses validation only: per fold (config[, epochs] maximising that fold's valid acc) or
global (one config[, epochs] maximising the mean valid acc over the 5 folds).

  OMP_NUM_THREADS=1 python bench/linear_head_study.py --emb EMB --folds FOLDS [--cache CURVES.npz]
"""
import argparse, csv, itertools, json, os, time

import numpy as np
import torch

torch.set_num_threads(1)
ap = argparse.ArgumentParser()
ap.add_argument("--emb", default="/tmp/emb")
ap.add_argument("--folds", default="/tmp/emotify_folds")
ap.add_argument("--seeds", default="42,43,44")
ap.add_argument("--maxep", type=int, default=100)
ap.add_argument("--patience", type=int, default=7)
ap.add_argument("--cache", default="/tmp/dual_linear_study_curves.npz")
a = ap.parse_args()

INPUTS = {
    "pen": ["msd-penultimate", "mtt-penultimate"],
    "pen+tag": ["msd-penultimate", "mtt-penultimate", "msd-taggram", "mtt-taggram"],
    "pools": ["msd-pools", "mtt-pools"],
}
GRID = sorted(itertools.product([1e-3, 3e-4], [1e-2, 1e-1, 1.0], [0.0, 0.5]), key=lambda c: c[2])  # lr, wd, drop
C = len(GRID)
N0 = sum(c[2] == 0 for c in GRID)  # configs without dropout come first
SEEDS = [int(s) for s in a.seeds.split(",")]

rows = list(csv.DictReader(open(os.path.join(a.emb, "msd-pools", "segments.csv"))))
tracks = [r["track"] for r in rows]
ids = list(dict.fromkeys(tracks))
tidx = {t: i for i, t in enumerate(ids)}
genres = sorted({r["genre"] for r in rows})
seg_track = np.array([tidx[t] for t in tracks])
y_track = np.array([genres.index(next(r["genre"] for r in rows if r["track"] == t)) for t in ids])
y_seg = y_track[seg_track]
AVG = np.zeros((len(ids), len(seg_track)), np.float32); AVG[seg_track, np.arange(len(seg_track))] = 1
AVG /= AVG.sum(1, keepdims=True)
for n in set(sum(INPUTS.values(), [])):  # same row order everywhere
    assert [r["track"] for r in csv.DictReader(open(os.path.join(a.emb, n, "segments.csv")))] == tracks


def fold(i):
    rd = lambda k: np.array([tidx[l.strip()] for l in open(os.path.join(a.folds, f"{k}_fold{i}.txt")) if l.strip()])
    return rd("train"), rd("valid"), rd("test")


def train(X, fit_tracks, eval_sets, seed, maxep):
    """Train C linear models; returns dict name -> [C, maxep] per-epoch metrics."""
    mfit = np.isin(seg_track, fit_tracks)
    mu = X[mfit].mean(0)
    sd = X[mfit].std(0)
    sd[sd < 1e-5] = 1.0  # constant (dead) dims in pools
    Z = torch.tensor(((X - mu) / sd).astype(np.float32))
    xtr, ytr = Z[mfit], torch.tensor(y_seg[mfit])
    n, d = xtr.shape
    g = torch.manual_seed(seed)
    bound = 1.0 / np.sqrt(d)  # torch nn.Linear default init: U(-1/sqrt(d), 1/sqrt(d))
    W = (torch.rand(C, d, 4) * 2 - 1) * bound
    b = (torch.rand(C, 4) * 2 - 1) * bound
    W.requires_grad_(True); b.requires_grad_(True)
    lr = torch.tensor([c[0] for c in GRID]); wd = torch.tensor([c[1] for c in GRID])
    keep = torch.tensor([1 - c[2] for c in GRID])
    state = {id(p): (torch.zeros_like(p), torch.zeros_like(p)) for p in (W, b)}
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    out = {k: np.zeros((C, maxep)) for k in ["test"] + [f"{s}_{m}" for s in eval_sets if s != "test" for m in ("tacc", "sacc", "nll")]}
    for ep in range(maxep):
        perm = torch.randperm(n)
        for s in range(0, n, 32):
            idx = perm[s:s + 32]
            xb = xtr[idx]
            kd = keep[N0:, None, None]
            mask = (torch.rand(C - N0, len(idx), d) < kd).float() / kd
            xin = torch.cat([xb.unsqueeze(0).expand(N0, -1, -1), xb.unsqueeze(0) * mask])
            logits = torch.bmm(xin, W) + b[:, None, :]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), ytr[idx].repeat(C), reduction="sum") / len(idx)
            gW, gb = torch.autograd.grad(loss, (W, b))
            step += 1
            with torch.no_grad():
                for p, gp in ((W, gW), (b, gb)):
                    shape = (C,) + (1,) * (p.dim() - 1)
                    p.mul_(1 - (lr * wd).view(shape))
                    m, v = state[id(p)]
                    m.mul_(b1).add_(gp, alpha=1 - b1)
                    v.mul_(b2).addcmul_(gp, gp, value=1 - b2)
                    denom = (v / (1 - b2 ** step)).sqrt_().add_(eps)
                    p.sub_(lr.view(shape) * (m / (1 - b1 ** step)) / denom)
        with torch.no_grad():
            logp = torch.log_softmax(torch.einsum("nd,cdk->cnk", Z, W) + b[:, None, :], -1)  # [C, 3600, 4]
            P = logp.exp().numpy()
            T = np.matmul(AVG, P)  # [C, tracks, 4]: mean segment probabilities per track
            tpred = T.argmax(-1)  # [C, 360]
            spred = P.argmax(-1)
            lp = logp.numpy()
            for sname, tr_ids in eval_sets.items():
                if sname == "test":
                    out["test"][:, ep] = (tpred[:, tr_ids] == y_track[tr_ids]).mean(1)
                else:
                    ms = np.isin(seg_track, tr_ids)
                    out[f"{sname}_tacc"][:, ep] = (tpred[:, tr_ids] == y_track[tr_ids]).mean(1)
                    out[f"{sname}_sacc"][:, ep] = (spred[:, ms] == y_seg[ms]).mean(1)
                    out[f"{sname}_nll"][:, ep] = -lp[:, ms, :][:, np.arange(ms.sum()), y_seg[ms]].mean(1)
    return out


# ---------------------------------------------------------------- run (or load cached curves)
if os.path.exists(a.cache):
    R = dict(np.load(a.cache))
else:
    R = {}
    t0 = time.process_time()
    for seed in SEEDS:
        for iname, names in INPUTS.items():
            X = np.concatenate([np.load(os.path.join(a.emb, nm, "embeddings.npy")) for nm in names], 1).astype(np.float64)
            X = X[:, X.std(0) > 0]  # drop dims constant over the whole dataset (dead pool units; standardise to 0 anyway)
            for f in range(5):
                tr, va, te = fold(f)
                cur = train(X, tr, {"valid": va, "test": te}, seed, a.maxep)
                ref = train(X, np.concatenate([tr, va]), {"test": te}, seed, a.maxep)
                for k, v in cur.items():
                    R[f"{seed}|{iname}|{f}|cur_{k}"] = v
                R[f"{seed}|{iname}|{f}|ref_test"] = ref["test"]
                print(f"seed {seed} {iname} fold {f} done, cpu {time.process_time() - t0:.0f}s", flush=True)
    np.savez(a.cache, **R)


def get(seed, iname, key):  # -> [5, C, maxep]
    return np.stack([R[f"{seed}|{iname}|{f}|{key}"] for f in range(5)])


def early_stop(curve, patience):
    best, be, wait = -np.inf, 0, 0
    for e, v in enumerate(curve):
        if v > best:
            best, be, wait = v, e, 0
        else:
            wait += 1
            if wait >= patience:
                break
    return be


def cfgname(c):
    lr, wd, dr = GRID[c]
    return f"lr{lr:g}/wd{wd:g}/dr{dr:g}"


def evaluate(seed, iname, mon):
    """Returns dict: method -> (per-fold test accs, description of choices)."""
    vt = get(seed, iname, f"cur_valid_{mon}")            # selection metric [5, C, E]
    vs = get(seed, iname, "cur_valid_sacc"); vn = get(seed, iname, "cur_valid_nll")
    ct = get(seed, iname, "cur_test"); rt = get(seed, iname, "ref_test")
    E = vt.shape[2]
    # tie-break key: primary metric, then valid segment acc, then -valid nll
    key = vt * 1e6 + vs * 1e3 - np.minimum(vn, 99) * 1e0
    res = {}
    # A: early stopping
    be = np.array([[early_stop(vt[f, c], a.patience) for c in range(C)] for f in range(5)])  # [5, C]
    kA = np.take_along_axis(key, be[..., None], 2)[..., 0]
    tA = np.take_along_axis(ct, be[..., None], 2)[..., 0]
    vA = np.take_along_axis(vt, be[..., None], 2)[..., 0]
    cs = kA.argmax(1)
    res["A per-fold"] = (tA[np.arange(5), cs], [f"{cfgname(c)}@{be[f, c] + 1}" for f, c in enumerate(cs)])
    cg = (vA.mean(0) * 1e6 + kA.mean(0) / 1e6).argmax()
    res["A global"] = (tA[:, cg], [f"{cfgname(cg)} (stop ep {','.join(str(e + 1) for e in be[:, cg])})"])
    res["A best-on-test"] = (tA[:, tA.mean(0).argmax()], [cfgname(tA.mean(0).argmax())])
    # B: epochs from validation curve, refit on train+valid
    flat = key.reshape(5, -1).argmax(1)
    cs, es = flat // E, flat % E
    res["B per-fold"] = (rt[np.arange(5), cs, es], [f"{cfgname(c)}@{e + 1}" for c, e in zip(cs, es)])
    mk = vt.mean(0) * 1e6 + key.mean(0) / 1e6  # [C, E]
    cg, eg = np.unravel_index(mk.argmax(), mk.shape)
    res["B global"] = (rt[:, cg, eg], [f"{cfgname(cg)}@{eg + 1}"])
    mt = rt.mean(0)
    cb, eb = np.unravel_index(mt.argmax(), mt.shape)
    res["B best-on-test"] = (rt[:, cb, eb], [f"{cfgname(cb)}@{eb + 1}"])
    res["_global_cfg"] = (cg, eg)
    return res


fmt = lambda x: f"{np.mean(x):.3f} ± {np.std(x):.3f}"
print("\n## seed 42: test track accuracy (mean ± population std over 5 folds)\n")
print("| input | monitor | method | test acc | per-fold | chosen (cfg@epochs) |\n|---|---|---|---|---|---|")
for iname in INPUTS:
    for mon in ("tacc", "sacc"):
        res = evaluate(SEEDS[0], iname, mon)
        for meth, (accs, ch) in res.items():
            if meth.startswith("_") or (mon == "sacc" and "best-on-test" in meth):
                continue
            lab = meth.replace("best-on-test", "best-on-TEST (after the fact)")
            print(f"| {iname} | {mon if 'best' not in meth else '-'} | {lab} | {fmt(accs)} | {' '.join(f'{x:.3f}' for x in accs)} | {'; '.join(ch)} |")

print("\n## validation-only summary (seed 42): mean valid acc of globally-selected config\n")
for iname in INPUTS:
    for mon in ("tacc", "sacc"):
        vt = get(SEEDS[0], iname, f"cur_valid_{mon}").mean(0)
        print(f"{iname:8s} {mon}: best mean valid (any cfg, any epoch) {vt.max():.3f} at {cfgname(np.unravel_index(vt.argmax(), vt.shape)[0])}@{np.unravel_index(vt.argmax(), vt.shape)[1] + 1}")

if len(SEEDS) > 1:
    print("\n## seed spread (selection redone per seed, validation only): mean over folds per seed -> mean ± std over seeds\n")
    print("| input | monitor | method | per-seed means | over seeds |\n|---|---|---|---|---|")
    for iname in INPUTS:
        for mon in ("tacc", "sacc"):
            per = {}
            for s in SEEDS:
                for meth, (accs, ch) in evaluate(s, iname, mon).items():
                    if not meth.startswith("_") and "best" not in meth:
                        per.setdefault(meth, []).append(np.mean(accs))
            for meth, v in per.items():
                print(f"| {iname} | {mon} | {meth} | {' '.join(f'{x:.3f}' for x in v)} | {np.mean(v):.3f} ± {np.std(v):.3f} |")
    # fixed seed-42 global configuration re-run with other seeds
    print("\n## fixed config chosen on seed 42 (B global, tacc), evaluated with each seed\n")
    for iname in INPUTS:
        cg, eg = evaluate(SEEDS[0], iname, "tacc")["_global_cfg"]
        v = [get(s, iname, "ref_test")[:, cg, eg].mean() for s in SEEDS]
        print(f"{iname}: {cfgname(cg)}@{eg + 1}: {' '.join(f'{x:.3f}' for x in v)} -> {np.mean(v):.3f} ± {np.std(v):.3f}")
