#!/usr/bin/env python3
"""Time the original musicnn 0.1.0 package (TensorFlow) on the first 30 s of audio files.

    /tmp/refenv/bin/python weights/bench_musicnn.py [--model MSD_musicnn] [--threads 2] \\
        [--repeats 3] FILE...

(venv with tensorflow-cpu 2.21, tf-keras 2.21, librosa, numpy, soundfile and musicnn 0.1.0; the
script sets TF_USE_LEGACY_KERAS=1, TF_CPP_MIN_LOG_LEVEL=2 and the thread variables itself.)

Two timings per file, each the median of --repeats runs:

  package_call_seconds  musicnn.extractor.extractor(wav, model=M, input_length=3,
                        input_overlap=False, extract_features=True), called as is. That function
                        builds a new TF graph, opens a new Session and restores the checkpoint on
                        every call, then loads the audio with librosa at 16 kHz, computes the
                        log-mel patches (batch_data) and runs every patch through the network
                        (config.BATCH_SIZE = 1 patch per sess.run). This is the honest per-call cost
                        of using the package.
  warm_session_seconds  the same work minus the graph/session/restore: the graph is built once
                        (same name scope, the package's models.define_model, same outputs, strict
                        restore), and per file only the package's own batch_data(wav, 187, 187)
                        plus the same sess.run loop (config.BATCH_SIZE patches per run) are timed.
                        Its taggram is checked to equal the extractor's.

Duration: extractor()/batch_data() call librosa.load(file, sr=16000) with no duration argument, so
the package cannot be limited to 30 s. Each file's first 30 s (at its own sample rate, all
channels) is therefore copied to a temporary float32 WAV with soundfile BEFORE any timing, and both
variants are timed on that WAV. Consequence: the timed region decodes a WAV, not the original
(e.g. Ogg Vorbis) file; the untimed cut's read time is reported as "cut_read_seconds" per file
so a decode-inclusive comparison can be adjusted. librosa then resamples the 30 s to 16 kHz inside
the timed region, as it would for the original file.

setup_seconds: one graph build + Session creation + checkpoint restore (the warm variant's
one-time cost), measured after a single untimed warm-up extractor() call on the first file (which
absorbs first-call costs: TF runtime/oneDNN initialisation, numba/librosa lazy imports and JIT).
The warm-up call's own time is reported as "warmup_call_seconds" and the imports as
"import_seconds".

Threads: --threads sets OMP/OpenBLAS/MKL/numexpr/numba thread counts and TF_NUM_INTRAOP_THREADS /
TF_NUM_INTEROP_THREADS before numpy or TensorFlow are imported, and
tf.config.threading.set_{intra,inter}_op_parallelism_threads before any op runs. The package's own
tf.compat.v1.Session() (config=None) takes its ConfigProto from that context config (checked at
start-up); the warm session gets an explicit ConfigProto with the same numbers.

stderr: human-readable progress; stdout: the JSON summary as the last line (the package's own
prints to stdout are swallowed).
"""
import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="MSD_musicnn",
                    choices=["MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0, help="leading seconds of each file to use")
    ap.add_argument("files", nargs="+")
    return ap.parse_args()


ARGS = parse_args()
_T = str(ARGS.threads)
# Everything below must be in the environment before numpy / numba / TensorFlow are imported.
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
           "TF_NUM_INTEROP_THREADS"):
    os.environ[_k] = _T
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # musicnn uses tf.compat.v1.layers; needs Keras 2 (tf-keras)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # silence TF's C++ info/warning banner

_t_import = time.perf_counter()
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
tf.config.threading.set_inter_op_parallelism_threads(ARGS.threads)
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
# musicnn.models uses tf.compat.v1.layers.*: one deprecation UserWarning per layer per graph build
warnings.filterwarnings("ignore", category=UserWarning, module=r"musicnn\.models")

import librosa  # noqa: E402
from musicnn import configuration as config  # noqa: E402
from musicnn import extractor as ex  # noqa: E402  (this import disables eager execution)
from musicnn import models  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t_import

MUSICNN_KEYS = ["timbral", "temporal", "cnn1", "cnn2", "cnn3", "mean_pool", "max_pool", "penultimate"]
VGG_KEYS = ["pool1", "pool2", "pool3", "pool4", "pool5"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def versions():
    from importlib.metadata import version

    out = {"python": platform.python_version(), "tensorflow": tf.__version__, "numpy": np.__version__,
           "librosa": librosa.__version__, "soundfile": sf.__version__}
    for dist in ("musicnn", "tf_keras", "soxr", "numba", "scipy"):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = None
    out["tf_enable_onednn_opts"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
    out["machine"] = platform.machine()
    out["cpu_count"] = os.cpu_count()
    return out


def check_thread_config():
    """extractor()'s tf.compat.v1.Session() with config=None uses context().config: check it."""
    from tensorflow.python.eager import context

    cfg = context.context().config
    got = (cfg.intra_op_parallelism_threads, cfg.inter_op_parallelism_threads)
    if got != (ARGS.threads, ARGS.threads):
        raise RuntimeError(f"TF context thread config is {got}, wanted {ARGS.threads}")
    return got


def cut_to_wav(path, seconds, tmpdir):
    """Untimed: first `seconds` of `path` at its own rate and channel count -> float32 WAV."""
    t0 = time.perf_counter()
    info = sf.info(path)
    data, sr = sf.read(path, frames=int(round(seconds * info.samplerate)), dtype="float32",
                       always_2d=True)
    read_s = time.perf_counter() - t0
    out = os.path.join(tmpdir, f"{len(os.listdir(tmpdir)):04d}_{os.path.basename(path)}.wav")
    sf.write(out, data, sr, subtype="FLOAT")
    return out, {"file_sr": sr, "channels": data.shape[1], "file_seconds": info.duration,
                 "cut_seconds": data.shape[0] / sr, "cut_read_seconds": read_s}


def n_frames_for(input_length=3):
    # exactly as extractor(): time_to_frames(...) + 1 = 187 for 3 s
    return int(librosa.time_to_frames(input_length, sr=config.SR, n_fft=config.FFT_SIZE,
                                      hop_length=config.FFT_HOP) + 1)


def package_call(wav, model):
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints progress to stdout
        return ex.extractor(wav, model=model, input_length=3, input_overlap=False,
                            extract_features=True)


class WarmSession:
    """The extractor's graph, built once (own tf.Graph, so extractor()'s reset_default_graph()
    cannot touch it), restored strictly, with the same outputs fetched per run."""

    def __init__(self, model, threads):
        labels = config.MSD_LABELS if "MSD" in model else config.MTT_LABELS
        self.n_frames = n_frames_for(3)
        self.graph = tf.Graph()
        with self.graph.as_default():
            with tf.name_scope("model"):
                self.x = tf.compat.v1.placeholder(tf.float32, [None, self.n_frames, config.N_MELS])
                self.is_training = tf.compat.v1.placeholder(tf.bool)
                outs = models.define_model(self.x, self.is_training, model, len(labels))
                self.fetch = [tf.nn.sigmoid(outs[0])] + list(outs[1:])  # extract_features=True
            cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads,
                                           inter_op_parallelism_threads=threads)
            self.sess = tf.compat.v1.Session(graph=self.graph, config=cfg)
            self.sess.run(tf.compat.v1.global_variables_initializer())
            # strict (the package wraps this in a bare except)
            tf.compat.v1.train.Saver().restore(
                self.sess, os.path.join(os.path.dirname(ex.__file__), model) + "/")
        self.graph.finalize()

    def run(self, wav):
        """Package's batch_data + the package's sess.run loop; returns (taggram, patches, feat_s)."""
        t0 = time.perf_counter()
        batch, _ = ex.batch_data(wav, self.n_frames, self.n_frames)  # input_overlap=False
        feat_s = time.perf_counter() - t0
        tags = []
        for i in range(0, batch.shape[0], config.BATCH_SIZE):
            out = self.sess.run(self.fetch, feed_dict={self.x: batch[i:i + config.BATCH_SIZE],
                                                       self.is_training: False})
            tags.append(np.asarray(out[0]))
        return np.concatenate(tags, axis=0), int(batch.shape[0]), feat_s

    def close(self):
        self.sess.close()


def timed(fn, *a):
    w0, c0 = time.perf_counter(), time.process_time()
    r = fn(*a)
    return r, time.perf_counter() - w0, time.process_time() - c0


def main():
    files = [os.path.abspath(f) for f in ARGS.files]
    for f in files:
        if not os.path.isfile(f):
            sys.exit(f"no such file: {f}")
    threads_cfg = check_thread_config()
    log(f"musicnn bench: model {ARGS.model}, threads {ARGS.threads} (TF intra/inter {threads_cfg}), "
        f"repeats {ARGS.repeats}, first {ARGS.seconds:g} s of {len(files)} file(s); "
        f"imports {IMPORT_SECONDS:.2f} s; os.cpu_count() {os.cpu_count()}, "
        f"loadavg {os.getloadavg()[0]:.2f}")

    per_file = []
    with tempfile.TemporaryDirectory(prefix="bench_musicnn_") as tmp, \
            np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        cuts = [cut_to_wav(f, ARGS.seconds, tmp) for f in files]  # untimed

        # warm-up: one full package call (first-call costs), not counted anywhere else
        (_, _, _), warmup_s, _ = timed(package_call, cuts[0][0], ARGS.model)
        log(f"warm-up extractor() call on {os.path.basename(files[0])}: {warmup_s:.3f} s")

        # one-time graph build + session + restore for the warm variant
        t0 = time.perf_counter()
        warm = WarmSession(ARGS.model, ARGS.threads)
        setup_s = time.perf_counter() - t0
        _ = warm.run(cuts[0][0])  # first run of this session (kernel/primitive creation): untimed
        log(f"setup (graph build + Session + restore): {setup_s:.3f} s")

        for f, (wav, meta) in zip(files, cuts):
            pkg_w, pkg_c, warm_w, warm_c, feat = [], [], [], [], []
            ref_taggram, patches, match = None, None, True
            for r in range(ARGS.repeats):
                (taggram, _, _), w, c = timed(package_call, wav, ARGS.model)
                pkg_w.append(w)
                pkg_c.append(c)
                if ref_taggram is None:
                    ref_taggram = taggram
                (wt, n, fs), w, c = timed(warm.run, wav)
                warm_w.append(w)
                warm_c.append(c)
                feat.append(fs)
                patches = n
                match &= bool(np.array_equal(wt, ref_taggram, equal_nan=True))
            rec = {
                "file": f,
                "package_call_seconds": statistics.median(pkg_w),
                "warm_session_seconds": statistics.median(warm_w),
                "patches": patches,
                "features_seconds": statistics.median(feat),
                "package_call_cpu_seconds": statistics.median(pkg_c),
                "warm_session_cpu_seconds": statistics.median(warm_c),
                "package_call_runs": pkg_w,
                "warm_session_runs": warm_w,
                "warm_taggram_equals_package": match,
                **meta,
            }
            per_file.append(rec)
            log(f"{f}: {patches} patches ({meta['cut_seconds']:.2f} s @ {meta['file_sr']} Hz, "
                f"{meta['channels']} ch); package call {rec['package_call_seconds']:.3f} s "
                f"(cpu {rec['package_call_cpu_seconds']:.3f}), warm session "
                f"{rec['warm_session_seconds']:.3f} s (cpu {rec['warm_session_cpu_seconds']:.3f}; "
                f"features {rec['features_seconds']:.3f}); runs pkg "
                f"{[round(x, 3) for x in pkg_w]} warm {[round(x, 3) for x in warm_w]}; "
                f"taggram match {match}")
        warm.close()

    summary = {
        "model": ARGS.model,
        "threads": ARGS.threads,
        "files": len(files),
        "setup_seconds": setup_s,
        "package_call_seconds_median": statistics.median(p["package_call_seconds"] for p in per_file),
        "warm_session_seconds_median": statistics.median(p["warm_session_seconds"] for p in per_file),
        "per_file": per_file,
        "versions": versions(),
        "repeats": ARGS.repeats,
        "seconds_per_file": ARGS.seconds,
        "import_seconds": IMPORT_SECONDS,
        "warmup_call_seconds": warmup_s,
        "loadavg_1min_end": os.getloadavg()[0],
        "notes": "timed on a float32 WAV copy of each file's first seconds_per_file s (package "
                 "cannot limit duration); package_call = extractor() incl. graph+session+restore; "
                 "warm_session = batch_data + sess.run loop on a prebuilt graph; medians of "
                 "repeats; wall-clock, CPU-contended machine possible",
    }
    log(f"setup {setup_s:.3f} s; median package call {summary['package_call_seconds_median']:.3f} s, "
        f"median warm session {summary['warm_session_seconds_median']:.3f} s over {len(files)} files")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
