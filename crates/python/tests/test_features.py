"""Features against librosa 0.11's (fixtures/reference, made by fixtures/make_fixtures.py),
with the bounds of the Rust parity test (crates/dsp/tests/integration/librosa_parity.rs)."""

import numpy as np
import pytest

import genre_classifier as gc

from conftest import FIXTURES


def bounds_hold(ours, theirs, tolerance):
    diff = np.abs(ours - theirs)
    if tolerance in ("pcm", "resampled"):
        return diff.max() <= 1e-3
    return diff.max() <= 0.25 and np.quantile(diff, 0.99) <= 0.03 and diff.mean() <= 0.004


def test_features_equal_librosa_on_every_fixture(manifest):
    for entry in manifest["fixtures"]:
        path = FIXTURES / entry["audio"]
        n = entry["segments_stored"]
        std = gc.features(path)
        db = gc.features(str(path), db=True)
        assert std.shape == (10, 128, 130) and std.dtype == np.float32
        ref_std = np.load(FIXTURES / "reference" / f"{entry['stem']}.std.npy")
        ref_db = np.load(FIXTURES / "reference" / f"{entry['stem']}.db.npy")
        assert bounds_hold(std[:n], ref_std, entry["tolerance"]), entry["stem"]
        if entry["tolerance"] in ("pcm", "resampled"):
            assert np.abs(db[:n] - ref_db).max() <= 0.01, entry["stem"]
        assert not std[n:].any(), f"{entry['stem']}: padding is not zero"
        print(f"{entry['stem']:<22} {entry['tolerance']:<9} std max {np.abs(std[:n] - ref_std).max():.6f}")


def test_an_array_gives_the_features_of_its_file():
    import wave

    path = FIXTURES / "audio" / "music_22050_flac.flac"
    from_file = gc.features(path, whole_track=True)
    # The same audio through numpy: decode a 16-bit WAV of the fixture set by hand.
    with wave.open(str(FIXTURES / "audio" / "tones_22050_pcm16.wav")) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768.0
    assert np.array_equal(gc.features(samples, sr=22050), gc.features(FIXTURES / "audio" / "tones_22050_pcm16.wav"))
    assert from_file.ndim == 3 and from_file.shape[1:] == (128, 130)


def test_arrays_at_other_rates_are_resampled_as_files_are():
    import wave

    path = FIXTURES / "audio" / "music_44100_pcm16.wav"
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768.0
    assert np.array_equal(gc.features(samples, sr=44100), gc.features(path))


def test_bad_input_raises_the_typed_exception(tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\xff\xfb" + bytes(200))
    with pytest.raises(gc.AudioError) as info:
        gc.features(broken)
    assert info.value.file == str(broken) and info.value.cause
    with pytest.raises(gc.AudioError) as info:
        gc.features(tmp_path / "missing.wav")
    assert "missing.wav" in str(info.value)
    with pytest.raises(gc.GenreError):
        gc.features(np.zeros((2, 3, 4), dtype=np.float32))
    empty = np.zeros(0, dtype=np.float32)
    with pytest.raises(gc.AudioError):
        gc.features(empty)
    with pytest.raises(gc.AudioError) as info:
        gc.features(np.zeros(100, dtype=np.float32), sr=0)
    assert info.value.file == "array"
    with pytest.raises(gc.GenreError):
        gc.features(str(broken), sr=44100)
    assert issubclass(gc.AudioError, gc.GenreError) and issubclass(gc.ModelError, gc.GenreError)
