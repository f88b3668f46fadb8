#!/usr/bin/env python3
"""NumPy re-implementation of musicnn 0.1.0's two architectures (musicnn and vgg) from the
converted PyTorch-layout state_dicts, checked against the package's own outputs.

    OMP_NUM_THREADS=2 /tmp/refenv/bin/python weights/check_musicnn.py

(run from the repository root; needs numpy and torch only, no TensorFlow). It loads
weights/musicnn/{msd,mtt}_{musicnn,vgg}.pt, cuts each fixtures/musicnn/<stem>.features.npy
into 187-frame patches exactly as musicnn's extractor does, runs the forward passes below and
compares with the TensorFlow outputs saved by fixtures/make_musicnn_fixtures.py
(taggram, penultimate, every intermediate that was saved). Exits non-zero if a finite
output differs by more than 1e-4 or the non-finite patterns differ.

This file is the executable spec for the Rust port (see weights/musicnn/ARCHITECTURE.md):
everything is NCHW with C = channels, H = time (187 frames), W = mel (96 bands), i.e. the
TensorFlow NHWC input [B, 187, 96, 1] is [B, 1, 187, 96] here. Weights are in PyTorch layout
(conv [out, in, kh, kw], dense [out, in]); convolutions are cross-correlations (no kernel flip).

Non-finite inputs (the package's float16 `10000 * mel` overflows to +inf for loud audio): plain
IEEE arithmetic everywhere (a conv/dense sum with both +inf and -inf terms is NaN, with one sign
it is that infinity; BN keeps +-inf), and `relu` maps NaN to 0 (`x > 0 ? x : 0`), which is what
TensorFlow 2.21's default CPU path (oneDNN-fused Conv2D/MatMul + BiasAdd + Relu) does. With that,
this file reproduces the package's finite taggrams for the overflowing patches of
loud_16000_pcm16 and music_22050_flac too. (With TF_ENABLE_ONEDNN_OPTS=0, Eigen kernels, NaN
propagates through relu instead and such a patch's taggram is all NaN.) The convolutions must
be direct / im2col sums (Winograd or FFT convolutions would smear the infinities differently).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WEIGHTS = os.path.join(HERE, "musicnn")
FIX = os.path.join(ROOT, "fixtures", "musicnn")

BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization default
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
N_MELS = 96
DTYPE = np.float64  # compute in double: the error figures are then TF's own float32 error


def load_state_dict(path):
    import torch

    sd = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.numpy().astype(DTYPE) for k, v in sd.items()}


# ---------------------------------------------------------------- primitives (NCHW, no batch)

def relu(x):
    # NaN -> 0 (TensorFlow 2.21 oneDNN fused conv/matmul + relu), +inf stays +inf.
    return np.where(x > 0, x, 0.0).astype(x.dtype)


def batch_norm(x, p, name, axis=0):
    """Inference BN over `axis`: (x - mean) / sqrt(var + 1e-3) * gamma + beta."""
    scale = p[name + ".weight"] / np.sqrt(p[name + ".running_var"] + BN_EPS)
    shift = p[name + ".bias"] - p[name + ".running_mean"] * scale
    shape = [1] * x.ndim
    shape[axis] = -1
    return x * scale.reshape(shape) + shift.reshape(shape)


def conv2d(x, p, name, pad=(0, 0, 0, 0)):
    """x [C, H, W]; weight [O, C, kh, kw]; pad = (top, bottom, left, right) zeros; stride 1."""
    w, b = p[name + ".weight"], p[name + ".bias"]
    top, bottom, left, right = pad
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    kh, kw = w.shape[2], w.shape[3]
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))  # [C, H', W', kh, kw]
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.tensordot(win, w, axes=([0, 3, 4], [1, 2, 3]))  # [H', W', O]
        out = np.moveaxis(out, 2, 0) + b[:, None, None]
    return out


def dense(x, p, name):
    w, b = p[name + ".weight"], p[name + ".bias"]  # [out, in]
    with np.errstate(invalid="ignore", over="ignore"):
        return w @ x + b


def max_pool(x, kh, kw, sh, sw):
    """TF 'valid' max pooling on [C, H, W]: H' = (H - kh) // sh + 1; trailing rows/cols dropped."""
    c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :ho, :wo]
    return win.max(axis=(3, 4))


def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def tf_same_pad(k):
    """TensorFlow 'same' padding for stride 1: the extra row goes after (bottom/right)."""
    total = k - 1
    return total // 2, total - total // 2


# ---------------------------------------------------------------- musicnn

def musicnn_forward(patch, p):
    """patch: [187, 96] log-mel (time, mel). Returns the dict the extractor exposes (per patch)."""
    x = patch.astype(DTYPE)[None]  # [1, T, M]  (C = 1)
    x = batch_norm(x, p, "input_bn")  # one channel

    def timbral(name, kernel_w):
        # tf.pad time by 3 on both sides, then 'valid' conv [7, kernel_w]; W' = 96 - kernel_w + 1
        y = conv2d(x, p, name + ".conv", pad=(3, 3, 0, 0))  # [204, T, 96 - kw + 1]
        y = batch_norm(relu(y), p, name + ".bn")  # conv -> relu -> bn
        return y.max(axis=2)  # max over the whole remaining mel axis -> [204, T]

    def temporal(name, kernel_h):
        top, bottom = tf_same_pad(kernel_h)  # 128 -> (63, 64), 64 -> (31, 32), 32 -> (15, 16)
        y = conv2d(x, p, name + ".conv", pad=(top, bottom, 0, 0))  # [51, T, 96]
        y = batch_norm(relu(y), p, name + ".bn")
        return y.max(axis=2)  # [51, T]

    f74 = timbral("timbral_74", 38)
    f77 = timbral("timbral_77", 67)
    s128 = temporal("temporal_128", 128)
    s64 = temporal("temporal_64", 64)
    s32 = temporal("temporal_32", 32)
    front = np.concatenate([f74, f77, s128, s64, s32], axis=0).T  # [T, 561]

    def midend(name, inp):
        # inp [T, F] seen as a 1-channel image (H = T, W = F); conv kernel [7, F] 'valid' after
        # padding time by 3 both sides -> [64, T, 1]; relu; bn over the 64 channels; then the
        # package transposes so the 64 channels become the feature axis: -> [T, 64]
        y = conv2d(inp[None], p, name + ".conv", pad=(3, 3, 0, 0))[:, :, 0]  # [64, T]
        y = batch_norm(relu(y), p, name + ".bn")
        return y.T

    cnn1 = midend("midend_1", front)
    cnn2 = midend("midend_2", cnn1) + cnn1
    cnn3 = midend("midend_3", cnn2) + cnn2
    feats = np.concatenate([front, cnn1, cnn2, cnn3], axis=1)  # [T, 753]

    with np.errstate(invalid="ignore"):
        mx = feats.max(axis=0)  # [753]
        mean = feats.mean(axis=0)  # [753]
    # tf.concat([max, mean], axis=2) on [B, 753, 1] then flatten: INTERLEAVED
    flat = np.stack([mx, mean], axis=1).reshape(-1)  # [max0, mean0, max1, mean1, ...] (1506)
    flat = batch_norm(flat, p, "backend.pool_bn")
    hidden = relu(dense(flat, p, "backend.dense"))  # dense -> relu -> bn
    penultimate = batch_norm(hidden, p, "backend.dense_bn")  # [200]
    logits = dense(penultimate, p, "backend.output")  # [50]
    return {
        "taggram": sigmoid(logits),
        "logits": logits,
        "timbral": np.concatenate([f74, f77], axis=0).T,  # [T, 408]
        "temporal": np.concatenate([s128, s64, s32], axis=0).T,  # [T, 153]
        "cnn1": cnn1,
        "cnn2": cnn2,
        "cnn3": cnn3,
        "mean_pool": mean,
        "max_pool": mx,
        "penultimate": penultimate,
    }


# ---------------------------------------------------------------- vgg

def vgg_forward(patch, p):
    x = patch.astype(DTYPE)[None]  # [1, 187, 96]
    x = batch_norm(x, p, "input_bn")
    pools = {}
    # (pool kh, kw, sh, sw) after each conv; every conv is 3x3 'same' (1 each side), 128 filters
    cfg = [(4, 1, 2, 2), (2, 2, 2, 2), (2, 2, 2, 2), (2, 2, 2, 2), (4, 4, 4, 4)]
    for i, (kh, kw, sh, sw) in enumerate(cfg, start=1):
        x = conv2d(x, p, f"conv{i}", pad=(1, 1, 1, 1))
        x = batch_norm(relu(x), p, f"bn{i}")
        x = max_pool(x, kh, kw, sh, sw)
        pools[f"pool{i}"] = np.moveaxis(x, 0, -1)  # NHWC view, as the extractor returns [H, W, 128]
    # pool5: [128, 2, 1]; TF flattens NHWC [2, 1, 128] -> index h * 128 + c (NOT PyTorch's c-major)
    flat = np.moveaxis(x, 0, -1).reshape(-1)  # [256]
    logits = dense(flat, p, "output")
    out = {"taggram": sigmoid(logits), "logits": logits}
    out.update(pools)
    out["pool5"] = pools["pool5"][:, 0, :]  # np.squeeze -> [2, 128] (h, c)
    return out


# ---------------------------------------------------------------- checks against fixtures

def patches(features, n_frames=N_FRAMES):
    """The extractor's batching with input_overlap=False: hop = n_frames, incomplete tail dropped."""
    return [features[t:t + n_frames] for t in range(0, features.shape[0] - n_frames + 1, n_frames)]


def compare(name, ours, ref, failures, tol=1e-4):
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, (name, ours.shape, ref.shape)
    fo, fr = np.isfinite(ours), np.isfinite(ref)
    same_pattern = bool((fo == fr).all() and (np.isnan(ours) == np.isnan(ref)).all()
                        and (ours[np.isinf(ours)] == ref[np.isinf(ours)]).all())
    both = fo & fr
    err = float(np.abs(ours[both] - ref[both]).max()) if both.any() else 0.0
    scale = float(np.abs(ref[both]).max()) if both.any() else 0.0
    nonfinite = int((~fr).sum())
    ok = same_pattern and err <= tol * max(1.0, scale)
    print(f"  {name:<44} max|err| {err:.2e}  (max|ref| {scale:8.3f}, non-finite {nonfinite:5d})"
          f"{'' if ok else '   <-- MISMATCH'}")
    if not ok:
        failures.append(name)
    return err


def main():
    manifest = json.load(open(os.path.join(FIX, "manifest.json")))
    failures = []
    summary = {}
    for model in ["msd_musicnn", "mtt_musicnn", "msd_vgg", "mtt_vgg"]:
        p = load_state_dict(os.path.join(WEIGHTS, model + ".pt"))
        forward = vgg_forward if "vgg" in model else musicnn_forward
        for stem in manifest["files"]:
            ref_tag = os.path.join(FIX, f"{stem}.{model}.taggram.npy")
            if not os.path.exists(ref_tag):
                continue
            feats = np.load(os.path.join(FIX, f"{stem}.features.npy"))
            outs = [forward(x, p) for x in patches(feats)]
            print(f"{model} on {stem} ({len(outs)} patches)")
            for key in ["taggram", "penultimate", "mean_pool", "max_pool", "timbral", "temporal",
                        "cnn1", "cnn2", "cnn3", "pool5"]:
                path = os.path.join(FIX, f"{stem}.{model}.{key}.npy")
                if not os.path.exists(path):
                    continue
                ref = np.load(path)
                if key in ("taggram", "penultimate", "mean_pool", "max_pool"):
                    ours = np.stack([o[key] for o in outs])  # [patches, n]
                else:
                    ours = np.concatenate([o[key] for o in outs])  # [patches * rows, n]
                err = compare(f"{key} {list(ref.shape)}", ours, ref, failures)
                # first patch only, as the brief's headline figure
                rows = ref.shape[0] // len(outs)
                summary.setdefault(model, {}).setdefault(stem, {})[key] = err
                if stem.startswith("musicnn_16000") and key in ("taggram", "penultimate", "pool5"):
                    e0 = float(np.abs(np.asarray(ours[:rows], np.float64) - ref[:rows]).max())
                    print(f"  {'  first patch only':<44} max|err| {e0:.2e}")
    print()
    if failures:
        print("FAILED:", ", ".join(failures))
        sys.exit(1)
    print("all outputs match (finite values within 1e-4 relative to max(1, max|ref|); identical "
          "inf/NaN patterns)")


if __name__ == "__main__":
    main()
