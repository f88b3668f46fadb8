"""Music-genre classification from Python: the Python original's features (librosa 0.11's
numbers, many times faster) and the project's genre models, in Rust.

>>> import genre_classifier as gc
>>> x = gc.features("song.mp3")                 # [10, 128, 130] float32, standardised
>>> clf = gc.Classifier()                        # the bundled GTZAN model, on the CPU
>>> clf.predict(["song.mp3"])[0]["prediction"]
'jazz'

Errors are :class:`AudioError` (a file or array that cannot be read), :class:`ModelError`
(a model or device) and :class:`GenreError` (their base; also bad arguments), each with
``.file`` and ``.cause``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native
from ._errors import AudioError, GenreError, ModelError

__all__ = ["features", "Classifier", "bundled_models", "GenreError", "AudioError", "ModelError", "SAMPLE_RATE"]
__version__: str = _native.__version__

#: The rate features are computed at; arrays at other rates are resampled to it.
SAMPLE_RATE = 22050

Audio = Union[str, "os.PathLike[str]", np.ndarray]


def bundled_models() -> List[str]:
    """The names ``Classifier(model=...)`` takes besides a model file, the default first."""
    return list(_native.bundled_models())


def _array(raw: Any) -> np.ndarray:
    data, shape = raw
    return np.frombuffer(data, dtype=np.float32).reshape(shape)


def _native_input(audio: Audio, sr: Optional[int], name: str) -> Any:
    """A path as a string, or an array as ``(float32 bytes, rate, name)``."""
    if isinstance(audio, np.ndarray):
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim == 2:  # (channels, samples), as librosa.load(mono=False) returns
            samples = samples.mean(axis=0, dtype=np.float32)
        if samples.ndim != 1:
            raise GenreError(f"{name}: an array of shape {audio.shape} is not mono or (channels, samples) audio")
        rate = SAMPLE_RATE if sr is None else int(sr)
        if rate <= 0:
            raise AudioError(f"{name}: a sample rate of {rate} Hz", name, f"a sample rate of {rate} Hz")
        return (np.ascontiguousarray(samples).tobytes(), rate, name)
    if sr is not None:
        raise GenreError("sr= applies to arrays; a file's rate is read from the file")
    return os.fspath(audio)


def features(audio: Audio, sr: Optional[int] = None, *, whole_track: bool = False, db: bool = False) -> np.ndarray:
    """The Python original's features of a file or of mono samples.

    Returns ``[10, 128, 130]`` float32 (the first 30 s in ten 3 s segments, zero-padded), or
    ``[N, 128, 130]`` with ``whole_track=True`` (every 3 s segment), standardised per
    segment, or the log-mel in dB with ``db=True``: what ``genre features`` writes.
    An array is taken at ``sr`` Hz (22,050 when ``None``) and resampled as librosa does.
    """
    if isinstance(audio, np.ndarray):
        samples, rate, name = _native_input(audio, sr, "array")
        raw = _native.features_of_samples(samples, rate, whole_track, db, name)
    else:
        raw = _native.features_of_file(_native_input(audio, sr, ""), whole_track, db)
    return _array(raw)


class Classifier:
    """A genre model: ``"gtzan"`` (the default: GTZAN's ten genres), ``"emotify"`` (four
    genres) or a model file from ``genre train``; on ``device`` ``"cpu"``, ``"wgpu"`` or
    ``"cuda"`` (the last two need a build with that feature)."""

    def __init__(self, model: str = "gtzan", device: str = "cpu") -> None:
        self._native = _native.NativeClassifier(os.fspath(model), device)

    @property
    def labels(self) -> List[str]:
        """The model's genres, in output order."""
        return list(self._native.labels)

    @property
    def architecture(self) -> str:
        """The architecture, e.g. ``"musicnn-dual"``."""
        return str(self._native.architecture)

    def __repr__(self) -> str:
        return f"Classifier(model={self._native.model!r}, architecture={self.architecture!r}, device={self._native.device!r})"

    def predict(
        self,
        audio: Union[Audio, Sequence[Audio]],
        aggregation: str = "mean",
        top_k: int = 3,
        whole_track: Optional[bool] = None,
        sr: Optional[int] = None,
    ) -> List[Dict[str, Any]]:
        """One dict per input with the fields of ``genre predict --format json``: file,
        device, labels, prediction, aggregate, probabilities, top_k, segments.

        ``aggregation`` is mean, median, max or vote; ``whole_track`` None follows the
        model (whole tracks for a model trained on them); ``sr`` is the rate of arrays.
        The first input that cannot be read raises :class:`AudioError`.
        """
        return self._predict(audio, aggregation, top_k, whole_track, sr, parallel=False, errors="raise")

    def predict_batch(
        self,
        audio: Sequence[Audio],
        aggregation: str = "mean",
        top_k: int = 3,
        whole_track: Optional[bool] = None,
        sr: Optional[int] = None,
        errors: str = "raise",
    ) -> List[Dict[str, Any]]:
        """Like :meth:`predict`, for many inputs at once: the GIL is released and the inputs
        are spread over every core. With ``errors="return"`` an input that fails gives
        ``{"file": ..., "error": ...}`` in its place instead of raising."""
        if errors not in ("raise", "return"):
            raise GenreError(f"errors={errors!r}: 'raise' or 'return'")
        return self._predict(audio, aggregation, top_k, whole_track, sr, parallel=True, errors=errors)

    def _predict(self, audio, aggregation, top_k, whole_track, sr, parallel, errors):  # type: ignore[no-untyped-def]
        items = [audio] if isinstance(audio, (str, os.PathLike, np.ndarray)) else list(audio)
        inputs = [_native_input(a, sr, f"array[{i}]") for i, a in enumerate(items)]
        answers = self._native.predict_json(
            inputs, aggregation, top_k, whole_track, 10, parallel, errors == "return"
        )
        return [json.loads(a) for a in answers]

    def explain(
        self,
        audio: Audio,
        method: str = "integrated-gradients",
        segment: int = 0,
        target: Optional[Union[int, str]] = None,
        whole_track: Optional[bool] = None,
        sr: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Why the model gave one segment a genre: ``{"method", "segment", "target",
        "genre", "attribution"}``, the attribution a ``[n_mels, n_frames]`` float32 array
        over the segment's spectrogram. ``method`` is integrated-gradients, grad-cam or
        occlusion; ``target`` a genre (name or index), by default the predicted one."""
        if isinstance(target, str):
            if target not in self.labels:
                raise GenreError(f"target {target!r}: the model's genres are {', '.join(self.labels)}")
            target = self.labels.index(target)
        raw, explained, name = self._native.explain(
            _native_input(audio, sr, "array"), method, segment, target, whole_track
        )
        return {
            "method": name,
            "segment": segment,
            "target": explained,
            "genre": self.labels[explained],
            "attribution": _array(raw),
        }
