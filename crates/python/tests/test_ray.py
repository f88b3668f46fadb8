"""The Ray Data job on a real two-node cluster on this machine: `ray start --head`, then
`ray start --address` for a second node, the job over a folder of 40 clips (and one
broken file), every row equal to the CLI's prediction, then the cluster stopped."""

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import wave

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

RATE = 22050
# A loopback cluster inside a test: no token authentication, whatever an earlier local
# `ray.init()` left in ~/.ray (a token there turns it on for `ray start --head` only).
RAY_ENV = dict(os.environ, RAY_AUTH_MODE="disabled")


def write_clip(path: pathlib.Path, seed: int) -> None:
    """A 4 s clip: a few partials and some noise, different for every seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(4 * RATE) / RATE
    freqs = rng.uniform(60, 3000, size=4)
    signal = sum(np.sin(2 * np.pi * f * t) * rng.uniform(0.05, 0.2) for f in freqs)
    signal = signal * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 4) * t)) + rng.normal(0, 0.02, t.size)
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_cli(*args: str) -> subprocess.CompletedProcess:
    ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
    return subprocess.run([ray_bin, *args], capture_output=True, text=True, timeout=300, env=RAY_ENV)


@pytest.fixture
def two_node_cluster(tmp_path):
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = ray_cli("start", "--head", f"--port={port}", "--num-cpus=1", "--disable-usage-stats", "--include-dashboard=false")
    assert head.returncode == 0, head.stderr
    try:
        worker = ray_cli("start", f"--address={address}", "--num-cpus=1")
        assert worker.returncode == 0, worker.stderr
        yield address
    finally:
        stopped = ray_cli("stop", "--force")
        print("ray stop:", stopped.stdout.strip().splitlines()[-1:] if stopped.stdout else stopped.returncode)


def test_the_batch_job_on_two_nodes_equals_the_cli(tmp_path, two_node_cluster, cli_predictions):
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(40):
        write_clip(clips / f"clip_{i:02d}.wav", i)
    (clips / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    out = tmp_path / "predictions"
    job = subprocess.run(
        [sys.executable, "-m", "genre_classifier.ray_batch", str(clips), str(out), "--address", two_node_cluster,
         "--workers", "2", "--batch-size", "8"],
        capture_output=True, text=True, timeout=900, env=RAY_ENV,
    )
    print(job.stdout[-2000:], job.stderr[-3000:])
    assert job.returncode == 0

    nodes = ray_cli("status")
    print(nodes.stdout)
    table = pq.read_table(out).to_pylist()
    rows = {row["file"]: row for row in table}
    assert len(rows) == 41
    broken = rows.pop(str(clips / "broken.wav"))
    assert broken["prediction"] is None and "broken.wav" in broken["error"]
    cli = cli_predictions(sorted(rows))
    assert len(cli) == 40
    for file, row in rows.items():
        expected = cli[file]
        assert row["error"] is None
        assert row["prediction"] == expected["prediction"], file
        assert row["labels"] == expected["labels"]
        assert np.allclose(row["probabilities"], expected["probabilities"], atol=1e-6), file
        assert row["top_k"] == [t["genre"] for t in expected["top_k"]]
    print(f"ray job: {len(rows)} clips and 1 broken file on 2 nodes, every row equal to the CLI's")
