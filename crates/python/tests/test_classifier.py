"""The Classifier against the CLI's own JSON, typed errors, explanations."""

import json
import subprocess
import sys

import numpy as np
import pytest

import genre_classifier as gc

from conftest import FIXTURES

FILES = [
    FIXTURES / "audio" / "music_22050_ogg.ogg",
    FIXTURES / "audio" / "music_44100_mp3.mp3",
    FIXTURES / "audio" / "stereo_22050_pcm16.wav",
]


@pytest.fixture(scope="module")
def gtzan():
    return gc.Classifier()


def close(ours, theirs):
    assert ours["file"] == theirs["file"]
    assert ours["labels"] == theirs["labels"] and ours["prediction"] == theirs["prediction"]
    assert np.allclose(ours["probabilities"], theirs["probabilities"], atol=1e-6)
    assert [t["genre"] for t in ours["top_k"]] == [t["genre"] for t in theirs["top_k"]]
    assert len(ours["segments"]) == len(theirs["segments"])


def test_predict_equals_the_cli_json(gtzan, cli_predictions):
    assert gtzan.labels == ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
    cli = cli_predictions(FILES)
    ours = gtzan.predict([str(f) for f in FILES])
    batch = gtzan.predict_batch([str(f) for f in FILES])
    for one, many in zip(ours, batch):
        close(one, cli[one["file"]])
        close(many, cli[many["file"]])
    emotify = gc.Classifier("emotify")
    cli = cli_predictions(FILES[:1], "--model", "emotify", "--aggregate", "vote", "--top-k", "2")
    close(emotify.predict(str(FILES[0]), aggregation="vote", top_k=2)[0], cli[str(FILES[0])])


def test_errors_are_typed_and_batches_can_return_them(gtzan, tmp_path):
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + bytes(100))
    with pytest.raises(gc.AudioError) as info:
        gtzan.predict([str(FILES[0]), str(broken)])
    assert info.value.file == str(broken)
    answers = gtzan.predict_batch([str(broken), str(FILES[0])], errors="return")
    assert answers[0]["file"] == str(broken) and "error" in answers[0]
    assert answers[1]["prediction"] in gtzan.labels
    with pytest.raises(gc.ModelError):
        gc.Classifier(str(tmp_path / "no-such-model.gmdl"))
    with pytest.raises(gc.ModelError) as info:
        gc.Classifier("gtzann")
    assert "gtzan" in str(info.value)
    with pytest.raises(gc.GenreError):
        gtzan.predict(str(FILES[0]), aggregation="average")
    with pytest.raises(gc.GenreError):
        gc.Classifier(device="tpu")


def test_arrays_are_classified_like_files(gtzan):
    import wave

    path = FIXTURES / "audio" / "stereo_22050_pcm16.wav"
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
    stereo = (pcm.astype(np.float32) / 32768.0).T
    from_array = gtzan.predict(stereo, sr=22050)[0]
    from_file = gtzan.predict(str(path))[0]
    assert from_array["file"] == "array[0]"
    assert np.allclose(from_array["probabilities"], from_file["probabilities"], atol=1e-6)


def test_explain_returns_an_attribution_array(gtzan):
    answer = gtzan.explain(str(FILES[0]), method="grad-cam", segment=0)
    assert answer["attribution"].shape == (96, 187) and answer["attribution"].dtype == np.float32
    assert answer["genre"] in gtzan.labels and np.isfinite(answer["attribution"]).all()
    jazz = gtzan.explain(str(FILES[0]), method="occlusion", target="jazz")
    assert jazz["target"] == gtzan.labels.index("jazz")
    with pytest.raises(gc.GenreError):
        gtzan.explain(str(FILES[0]), segment=99)


def test_the_module_cli_prints_json_lines(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "genre_classifier", "predict", str(FILES[0]), str(tmp_path / "missing.wav")],
        capture_output=True, text=True,
    )
    assert out.returncode == 1
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [l["file"] for l in lines] == [str(FILES[0])]
    assert "missing.wav" in out.stderr
