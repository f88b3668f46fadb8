"""Everyday audio files for `cargo xtask bench features`: the formats most people's
music is in, made from 22,050 Hz mono clips (GTZAN's) so both sides read the same music.

Each clip is resampled with soxr's VHQ recipe to 44.1 and 48 kHz, made stereo (the right
channel a 0.3 ms-delayed, slightly quieter copy, so the two channels differ as real
stereo does) and written as WAV and FLAC (16-bit, libsndfile), Ogg Vorbis, MP3 at 128 and 320
kbit/s (LAME) and AAC in M4A at 192 kbit/s (FFmpeg's encoder), both through PyAV.

    /tmp/refenv/bin/pip install av
    /tmp/refenv/bin/python bench/make_everyday_files.py --out /tmp/everyday \\
        ../shared/gtzan-sample/audio/blues/blues.00000.wav ...
"""

import argparse
import pathlib

import av
import numpy as np
import soundfile as sf
import soxr


def stereo(mono, rate):
    delay = int(round(0.0003 * rate))
    right = np.concatenate([np.zeros(delay, dtype=mono.dtype), mono[:-delay]]) * 0.9
    return np.stack([mono, right], axis=1)


def write_encoded(path, samples, rate, container_format, codec, bit_rate):
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        stream.bit_rate = bit_rate
        frame_size = 1152 if codec == "libmp3lame" else 1024
        pcm = np.ascontiguousarray(samples.T.astype(np.float32))
        for start in range(0, pcm.shape[1], frame_size):
            frame = av.AudioFrame.from_ndarray(pcm[:, start : start + frame_size], format="fltp", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("clips", type=pathlib.Path, nargs="+")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for clip in args.clips:
        mono, rate = sf.read(clip, dtype="float32")
        if mono.ndim > 1:
            mono = mono.mean(axis=1)
        for target in (44_100, 48_000):
            samples = stereo(soxr.resample(mono, rate, target, quality="VHQ"), target) * 0.8
            stem = f"{clip.stem}_{target // 1000}k"
            sf.write(args.out / f"{stem}.wav", samples, target, subtype="PCM_16")
            sf.write(args.out / f"{stem}.flac", samples, target, subtype="PCM_16")
            if target == 44_100:
                sf.write(args.out / f"{stem}.ogg", samples, target, format="OGG", subtype="VORBIS")
                for kbits in (128, 320):
                    write_encoded(args.out / f"{stem}_{kbits}.mp3", samples, target, "mp3", "libmp3lame", kbits * 1000)
                write_encoded(args.out / f"{stem}.m4a", samples, target, "mp4", "aac", 192_000)
    for path in sorted(args.out.iterdir()):
        info = sf.info(path) if path.suffix != ".m4a" else None
        detail = f"{info.samplerate} Hz, {info.channels} ch, {info.subtype}" if info else "AAC in M4A"
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, {detail}")


if __name__ == "__main__":
    main()
