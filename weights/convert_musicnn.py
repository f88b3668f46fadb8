#!/usr/bin/env python3
"""Convert the pretrained musicnn 0.1.0 (PyPI) TensorFlow checkpoints to PyTorch-layout state_dicts.

    TF_USE_LEGACY_KERAS=1 OMP_NUM_THREADS=2 TF_CPP_MIN_LOG_LEVEL=2 \\
        /tmp/refenv/bin/python weights/convert_musicnn.py

(run from the repository root, in a venv with tensorflow-cpu 2.21 + tf-keras 2.21, torch, numpy
and musicnn 0.1.0 installed with --no-deps). Writes

    weights/musicnn/{msd_musicnn,mtt_musicnn,msd_vgg,mtt_vgg}.pt   torch.save(state_dict), float32
    weights/musicnn/tags.json                                      {"msd": [50 tags], "mtt": [50 tags]}
    weights/musicnn/LICENSE                                        musicnn's ISC licence + provenance

Reading: each checkpoint lives in the package as files named `<model>/.index`,
`<model>/.data-00000-of-00001` (checkpoint prefix = the directory path with a trailing "/"), and
its `checkpoint` file points to the author's machine, so tf.train.load_checkpoint(<dir>) fails;
the same reader is opened directly with tf.compat.v1.train.NewCheckpointReader(<dir>/). Adam
slots (`*/Adam`, `*/Adam_1`) and `beta1_power`/`beta2_power` are skipped.

Mapping: tf.compat.v1.layers names variables by creation order (conv2d, conv2d_1, ...,
batch_normalization_N, dense, dense_1), so the table below follows the construction order of
musicnn/models.py (build_musicnn: frontend -> midend -> backend; vgg: 1CNN..5CNN are named
explicitly). Every tensor is checked against its expected shape, and then the whole mapping is
verified (unless --no-verify) by building the package's own graph (models.define_model, the same
call the extractor makes), checking that its variables are created in exactly this order with these
shapes, restoring the checkpoint strictly, and comparing the TF outputs on a seeded random batch
with the NumPy forward pass of weights/check_musicnn.py run from the converted .pt files.

Layouts: conv kernel TF [kh, kw, in, out] -> [out, in, kh, kw] (H = time, W = mel, as in TF);
dense kernel TF [in, out] -> [out, in]; batch norm gamma/beta/moving_mean/moving_variance ->
weight/bias/running_mean/running_var (every BN in these checkpoints has gamma and beta; epsilon is
TF's default 1e-3, not PyTorch's 1e-5). No `num_batches_tracked` entries are written.
"""
import argparse
import collections
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "musicnn")
MODELS = ["MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"]

# (semantic prefix, kind, TF layer name, TF kernel/param shape), in graph construction order.
MUSICNN_MAP = [
    ("input_bn", "bn", "batch_normalization", (1,)),
    ("timbral_74.conv", "conv", "conv2d", (7, 38, 1, 204)),
    ("timbral_74.bn", "bn", "batch_normalization_1", (204,)),
    ("timbral_77.conv", "conv", "conv2d_1", (7, 67, 1, 204)),
    ("timbral_77.bn", "bn", "batch_normalization_2", (204,)),
    ("temporal_128.conv", "conv", "conv2d_2", (128, 1, 1, 51)),
    ("temporal_128.bn", "bn", "batch_normalization_3", (51,)),
    ("temporal_64.conv", "conv", "conv2d_3", (64, 1, 1, 51)),
    ("temporal_64.bn", "bn", "batch_normalization_4", (51,)),
    ("temporal_32.conv", "conv", "conv2d_4", (32, 1, 1, 51)),
    ("temporal_32.bn", "bn", "batch_normalization_5", (51,)),
    ("midend_1.conv", "conv", "conv2d_5", (7, 561, 1, 64)),
    ("midend_1.bn", "bn", "batch_normalization_6", (64,)),
    ("midend_2.conv", "conv", "conv2d_6", (7, 64, 1, 64)),
    ("midend_2.bn", "bn", "batch_normalization_7", (64,)),
    ("midend_3.conv", "conv", "conv2d_7", (7, 64, 1, 64)),
    ("midend_3.bn", "bn", "batch_normalization_8", (64,)),
    ("backend.pool_bn", "bn", "batch_normalization_9", (1506,)),
    ("backend.dense", "dense", "dense", (1506, 200)),
    ("backend.dense_bn", "bn", "batch_normalization_10", (200,)),
    ("backend.output", "dense", "dense_1", (200, 50)),
]

VGG_MAP = [("input_bn", "bn", "batch_normalization", (1,))]
for _i in range(1, 6):
    VGG_MAP += [
        (f"conv{_i}", "conv", f"{_i}CNN", (3, 3, 1 if _i == 1 else 128, 128)),
        (f"bn{_i}", "bn", f"batch_normalization_{_i}", (128,)),
    ]
VGG_MAP.append(("output", "dense", "dense", (256, 50)))

TF_PARAMS = {"conv": ["kernel", "bias"], "dense": ["kernel", "bias"],
             "bn": ["gamma", "beta", "moving_mean", "moving_variance"]}
PT_NAME = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias",
           "moving_mean": "running_mean", "moving_variance": "running_var"}


def package_dir():
    import musicnn

    return os.path.dirname(os.path.abspath(musicnn.__file__))


def mapping(model):
    return VGG_MAP if "vgg" in model else MUSICNN_MAP


def is_optimizer_slot(name):
    return name.split("/")[-1].startswith("Adam") or name in ("beta1_power", "beta2_power")


def read_checkpoint(prefix):
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    shapes = reader.get_variable_to_shape_map()
    return {n: reader.get_tensor(n) for n in shapes if not is_optimizer_slot(n)}


def convert(model, tensors):
    sd = collections.OrderedDict()
    used = set()
    for prefix, kind, tf_layer, shape in mapping(model):
        for param in TF_PARAMS[kind]:
            tf_name = f"{tf_layer}/{param}"
            if tf_name not in tensors:
                raise KeyError(f"{model}: {tf_name} missing (center/scale off?)")
            v = np.asarray(tensors[tf_name], dtype=np.float32)
            want = shape if param == "kernel" else ((shape[-1],) if kind != "bn" else shape)
            if tuple(v.shape) != tuple(want):
                raise ValueError(f"{model}: {tf_name} has shape {v.shape}, expected {want} for {prefix}")
            if param == "kernel" and kind == "conv":
                v = v.transpose(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
            elif param == "kernel":
                v = v.T  # [in, out] -> [out, in]
            sd[f"{prefix}.{PT_NAME[param]}"] = np.ascontiguousarray(v)
            used.add(tf_name)
    left = sorted(set(tensors) - used)
    if left:
        raise ValueError(f"{model}: unmapped checkpoint variables {left}")
    return sd


def save(sd, path):
    import torch

    torch.save(collections.OrderedDict((k, torch.from_numpy(v.copy())) for k, v in sd.items()), path)


def verify_with_package_graph(model, prefix, pt_path, n_patches=2):
    """Build the package's graph, check variable creation order, restore strictly, compare outputs."""
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models

    sys.path.insert(0, HERE)
    import check_musicnn as ref

    num_classes = len(config.MSD_LABELS if "MSD" in model else config.MTT_LABELS)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, ref.N_FRAMES, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outs = models.define_model(x, is_training, model, num_classes)
        created = [(v.op.name, tuple(v.shape.as_list())) for v in tf.compat.v1.global_variables()]
        saver = tf.compat.v1.train.Saver()
        layers = list(dict.fromkeys(n.rsplit("/", 1)[0] for n, _ in created))
        expected = [m[2] for m in mapping(model)]
        if layers != expected:
            raise AssertionError(f"{model}: graph creates layers {layers}, table says {expected}")
        for (name, shape) in created:
            layer, param = name.rsplit("/", 1)
            entry = next(m for m in mapping(model) if m[2] == layer)
            want = entry[3] if param == "kernel" or entry[1] == "bn" else (entry[3][-1],)
            if tuple(shape) != tuple(want):
                raise AssertionError(f"{model}: graph variable {name} {shape} != {want}")
        cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
        with tf.compat.v1.Session(graph=g, config=cfg) as sess:
            saver.restore(sess, prefix)  # strict: raises if anything is missing or mis-shaped
            rng = np.random.default_rng(1234)
            # log-mel-like input: log10(10000 * mel + 1) lies in [0, ~4.8]
            batch = (rng.gamma(2.0, 0.6, size=(n_patches, ref.N_FRAMES, config.N_MELS))).astype(np.float32)
            got = sess.run([tf.nn.sigmoid(outs[0])] + list(outs[1:]), {x: batch, is_training: False})
    p = ref.load_state_dict(pt_path)
    if "vgg" in model:
        names = ["taggram", "pool1", "pool2", "pool3", "pool4", "pool5"]
        forward = ref.vgg_forward
    else:
        names = ["taggram", "timbral", "temporal", "cnn1", "cnn2", "cnn3", "mean_pool", "max_pool",
                 "penultimate"]
        forward = ref.musicnn_forward
    errs = {}
    for i in range(n_patches):
        mine = forward(batch[i], p)
        for name, t in zip(names, got):
            t = np.squeeze(t[i])
            m = np.squeeze(mine[name])
            if name.startswith("pool") and name != "pool5":
                m = np.squeeze(m)
            e, r = float(np.abs(m - t).max()), float(np.abs(t).max())
            prev = errs.get(name, (0.0, 0.0))
            errs[name] = (max(prev[0], e), max(prev[1], r))
    return len(created), errs


def write_tags_and_license(pkg):
    from musicnn import configuration as config

    with open(os.path.join(OUT, "tags.json"), "w") as f:
        json.dump({"msd": list(config.MSD_LABELS), "mtt": list(config.MTT_LABELS)}, f, indent=1)
        f.write("\n")
    lic_path = os.path.join(os.path.dirname(pkg), "musicnn-0.1.0.dist-info", "LICENSE.md")
    with open(lic_path) as f:
        lic = f.read().rstrip() + "\n"
    with open(os.path.join(OUT, "LICENSE"), "w") as f:
        f.write("musicnn (https://github.com/jordipons/musicnn), ISC License, as shipped in the\n"
                "musicnn 0.1.0 wheel (musicnn-0.1.0.dist-info/LICENSE.md):\n\n")
        f.write(lic)
        f.write("\nThe files in this directory (msd_musicnn.pt, mtt_musicnn.pt, msd_vgg.pt, mtt_vgg.pt,\n"
                "tags.json) are converted from musicnn 0.1.0's pretrained checkpoints (MSD_musicnn,\n"
                "MTT_musicnn, MSD_vgg, MTT_vgg) and configuration.py by weights/convert_musicnn.py;\n"
                "they remain under the licence above.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-verify", action="store_true", help="skip the TF-graph vs NumPy check")
    args = ap.parse_args()

    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    pkg = package_dir()
    os.makedirs(OUT, exist_ok=True)
    ok = True
    for model in MODELS:
        prefix = os.path.join(pkg, model) + "/"
        tensors = read_checkpoint(prefix)
        sd = convert(model, tensors)
        path = os.path.join(OUT, model.lower() + ".pt")
        save(sd, path)
        digest = hashlib.sha256(open(prefix + ".data-00000-of-00001", "rb").read()).hexdigest()[:16]
        n = sum(v.size for v in sd.values())
        print(f"{model}: {len(tensors)} checkpoint tensors (optimizer slots skipped) -> {len(sd)} "
              f"entries, {n} parameters -> {os.path.relpath(path)} ({os.path.getsize(path)} bytes; "
              f"data sha256 {digest}...)")
        if not args.no_verify:
            nvars, errs = verify_with_package_graph(model, prefix, path)
            worst = max(e / max(1.0, r) for e, r in errs.values())
            print(f"  package graph: {nvars} variables created in table order with table shapes; "
                  f"strict restore ok; TF vs NumPy-from-.pt on 2 seeded random patches, "
                  f"max|err| (max|TF|): "
                  + ", ".join(f"{k} {e:.1e} ({r:.3g})" for k, (e, r) in errs.items()))
            ok &= worst < 1e-4
    write_tags_and_license(pkg)
    print("wrote", os.path.relpath(os.path.join(OUT, "tags.json")), "and",
          os.path.relpath(os.path.join(OUT, "LICENSE")))
    if not ok:
        print("VERIFICATION FAILED")
        sys.exit(1)


if __name__ == "__main__":
    main()
