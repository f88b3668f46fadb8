"""Synthesise the project's demo music clips.

Makes three short, fully synthetic clips (numpy and scipy: oscillators, noise,
filters and envelopes, no recorded samples) for trying out the genre classifier:

* ``demo_orchestral_30s.flac`` - a slow four-part string chorale, no drums
* ``demo_electronic_30s.flac`` - four-on-the-floor kick, hats, claps, saw arp, sub bass
* ``demo_rock_30s.flac``       - distorted power chords, rock beat, bass

Each is ~30.5 s, 22,050 Hz, mono, 16-bit FLAC, peak normalised to about -1 dBFS.
The output is deterministic (fixed random seed).

Run:

    python examples/audio/make_demo_clips.py

It writes the clips next to itself. Needs numpy, scipy and soundfile (>= 0.12,
for the FLAC compression level).
"""

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, lfilter

SR = 22_050
DURATION = 30.5
SEED = 20240601
PEAK_DBFS = -1.0
OUT_DIR = Path(__file__).resolve().parent

N = int(round(SR * DURATION))
T = np.arange(N) / SR


def midi_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def saw_additive(freq, t, n_harm=None, phase=0.0, rolloff=1.0):
    """Band-limited sawtooth (sum of harmonics); ``freq`` may be an array."""
    freq = np.broadcast_to(np.asarray(freq, dtype=float), t.shape)
    ph = 2 * np.pi * np.cumsum(freq) / SR + phase
    fmax = float(np.max(freq))
    if n_harm is None:
        n_harm = max(1, int((SR / 2 - 200) // fmax))
    out = np.zeros_like(t)
    for k in range(1, n_harm + 1):
        out += np.sin(k * ph) / k ** rolloff
    return out * (2 / np.pi)


def onepole_lp(x, cutoff):
    """One-pole low-pass filter (cutoff in Hz, scalar)."""
    a = np.exp(-2 * np.pi * cutoff / SR)
    return lfilter([1 - a], [1, -a], x)


def biquad(x, kind, f0, q=0.707):
    w0 = 2 * np.pi * f0 / SR
    alpha = np.sin(w0) / (2 * q)
    c = np.cos(w0)
    if kind == "lp":
        b = [(1 - c) / 2, 1 - c, (1 - c) / 2]
    elif kind == "hp":
        b = [(1 + c) / 2, -(1 + c), (1 + c) / 2]
    elif kind == "bp":
        b = [alpha, 0, -alpha]
    else:
        raise ValueError(kind)
    a = [1 + alpha, -2 * c, 1 - alpha]
    return lfilter(np.array(b) / a[0], np.array(a) / a[0], x)


def lowpass4(x, cutoff):
    """Two cascaded biquad low-passes (also keeps the FLAC files small)."""
    return biquad(biquad(x, "lp", cutoff), "lp", cutoff)


def adsr(n, attack, decay, sustain, release):
    """ADSR envelope of ``n`` samples (times in seconds; release inside n)."""
    a = int(attack * SR)
    d = int(decay * SR)
    r = int(release * SR)
    s = max(0, n - a - d - r)
    env = np.concatenate(
        [
            np.linspace(0, 1, a, endpoint=False),
            np.linspace(1, sustain, d, endpoint=False),
            np.full(s, sustain),
            np.linspace(sustain, 0, r),
        ]
    )
    return np.pad(env, (0, max(0, n - len(env))))[:n]


def add_at(buf, sig, start):
    i = int(round(start * SR))
    if i >= len(buf):
        return
    j = min(len(buf), i + len(sig))
    buf[i:j] += sig[: j - i]


def simple_reverb(x, rng, seconds=1.8, mix=0.25):
    """Convolution with decaying noise: a cheap hall."""
    n = int(seconds * SR)
    ir = rng.standard_normal(n) * np.exp(-np.arange(n) / SR * 6.9 / seconds)
    ir = onepole_lp(ir, 4000)
    ir /= np.sqrt(np.sum(ir**2))
    wet = fftconvolve(x, ir)[: len(x)]
    return (1 - mix) * x + mix * wet * (np.std(x) / (np.std(wet) + 1e-12))


def normalise(x):
    x = x - np.mean(x)
    # gentle fades at both ends
    f = int(0.02 * SR)
    x[:f] *= np.linspace(0, 1, f)
    x[-int(0.5 * SR):] *= np.linspace(1, 0, int(0.5 * SR))
    return x / np.max(np.abs(x)) * 10 ** (PEAK_DBFS / 20)


# ---------------------------------------------------------------- orchestral


def slow_drift(rng, n, cents):
    """A slowly wandering pitch factor (smoothed random walk, about +-cents)."""
    w = lfilter([0.03], [1, -0.97], rng.standard_normal(n // 100 + 2))
    w /= np.std(w) + 1e-9
    return 2 ** (cents * np.interp(np.arange(n) / 100, np.arange(len(w)), w) / 1200)


# A four-part chorale in D major: (midi note, beats) per part.
CHORALE = {
    "soprano": [
        (86, 1), (85, 1), (83, 1), (81, 1), (79, 1), (81, 1), (83, 2),
        (86, 1), (88, 1), (90, 1), (88, 1), (86, 2), (85, 2),
        (83, 1), (85, 1), (86, 1), (88, 1), (90, 2), (88, 1), (86, 1),
        (85, 1), (83, 1), (81, 2), (86, 4),
    ],
    "alto": [
        (66, 1), (64, 1), (62, 1), (66, 1), (62, 1), (64, 1), (66, 2),
        (66, 1), (67, 1), (69, 1), (67, 1), (66, 2), (64, 2),
        (62, 1), (64, 1), (66, 1), (67, 1), (69, 2), (67, 1), (66, 1),
        (64, 1), (62, 1), (61, 2), (62, 4),
    ],
    "tenor": [
        (57, 1), (57, 1), (59, 1), (57, 1), (59, 1), (57, 1), (59, 2),
        (62, 1), (64, 1), (62, 1), (62, 1), (59, 2), (57, 2),
        (59, 1), (57, 1), (57, 1), (59, 1), (62, 2), (59, 1), (59, 1),
        (57, 1), (55, 1), (57, 2), (57, 4),
    ],
    "bass": [
        (50, 1), (57, 1), (55, 1), (54, 1), (52, 1), (49, 1), (47, 2),
        (47, 1), (48, 1), (50, 1), (52, 1), (47, 2), (45, 2),
        (55, 1), (57, 1), (50, 1), (52, 1), (54, 2), (55, 1), (47, 1),
        (45, 1), (43, 1), (45, 2), (38, 4),
    ],
}


def bowed_line(rng, line, beat, vib_depth=0.007):
    """One legato string part: additive saw, per-note bow swell, vibrato, bow noise."""
    out = np.zeros(N)
    pos = 0.0
    while pos < DURATION:
        for note, beats in line:
            if pos >= DURATION:
                break
            length = beats * beat
            n = int((length + 0.35) * SR)
            t = np.arange(n) / SR
            f0 = midi_hz(note)
            env = adsr(n, min(0.25, 0.3 * length), 0.1, 0.85, 0.35)
            env *= 1 + 0.25 * np.sin(np.pi * np.clip(t / length, 0, 1))
            vib = 1 + vib_depth * np.clip((t - 0.15) / 0.3, 0, 1) * np.sin(
                2 * np.pi * (5.2 + rng.uniform(-0.6, 0.6)) * t + rng.uniform(0, 6.28)
            )
            f = f0 * 2 ** (rng.uniform(-7, 7) / 1200) * vib * slow_drift(rng, n, 3)
            s = saw_additive(f, t, n_harm=min(30, int(7000 // f0)), phase=rng.uniform(0, 6.28), rolloff=1.4)
            s += 0.03 * biquad(rng.standard_normal(n), "bp", min(3 * f0, 4000), 0.7)
            add_at(out, s * env, pos)
            pos += length
    return out


def orchestral(rng):
    beat = 1.0  # 60 BPM
    gains = {"soprano": 1.0, "alto": 0.7, "tenor": 0.7, "bass": 0.8}
    out = sum(g * bowed_line(rng, CHORALE[p], beat) for p, g in gains.items())
    out = biquad(out, "hp", 90)
    out = biquad(out, "lp", 4000)
    # quiet (p) for most of the clip, crescendo to a forte close
    t = np.arange(N) / SR
    out = out[:N] * (0.3 + 0.7 * np.clip((t - 25) / 3, 0, 1))
    return simple_reverb(out, rng, seconds=2.5, mix=0.4)


# ---------------------------------------------------------------- electronic


def kick(length=0.35, f_start=150, f_end=45, click=0.3, rng=None):
    n = int(length * SR)
    t = np.arange(n) / SR
    f = f_end + (f_start - f_end) * np.exp(-t / 0.03)
    s = np.sin(2 * np.pi * np.cumsum(f) / SR)
    s *= np.exp(-t / 0.12)
    if rng is not None and click:
        c = rng.standard_normal(n) * np.exp(-t / 0.003) * click
        s += c
    return s


def hat(rng, length=0.06, cutoff=7000, decay=0.015):
    n = int(length * SR)
    t = np.arange(n) / SR
    return biquad(rng.standard_normal(n), "hp", cutoff) * np.exp(-t / decay)


def clap(rng, length=0.25):
    n = int(length * SR)
    t = np.arange(n) / SR
    noise = biquad(rng.standard_normal(n), "bp", 1500, q=0.8)
    env = np.exp(-t / 0.06)
    for d in (0.0, 0.01, 0.02):  # a few quick re-triggers
        env += (t >= d) * np.exp(-np.clip(t - d, 0, None) / 0.005) * 0.8
    return noise * env


def electronic(rng):
    bpm = 126
    beat = 60 / bpm
    out = np.zeros(N)
    drums = np.zeros(N)
    n_beats = int(DURATION / beat) + 1
    k = kick(rng=rng)
    for b in range(n_beats):
        add_at(drums, k * 0.9, b * beat)
        add_at(drums, hat(rng, cutoff=8000, decay=0.03) * 0.35, b * beat + beat / 2)
        add_at(drums, hat(rng) * 0.12, b * beat + beat / 4)
        add_at(drums, hat(rng) * 0.12, b * beat + 3 * beat / 4)
        if b % 2 == 1:
            add_at(drums, clap(rng) * 0.5, b * beat)
    # Am - F - C - G, one bar (4 beats) each
    prog = [(57, [0, 3, 7]), (53, [0, 4, 7]), (48, [0, 4, 7]), (55, [0, 4, 7])]
    synth = np.zeros(N)
    bass = np.zeros(N)
    step = beat / 4
    for s in range(int(DURATION / step) + 1):
        bar = int(s // 16)
        root, ivs = prog[bar % 4]
        pattern = [0, 1, 2, 3, 2, 1, 0, 2]
        idx = pattern[s % 8]
        octave = 12 if (s // 8) % 2 else 0
        note = root + 12 + ivs[idx % 3] + octave
        n = int(step * 1.8 * SR)
        t = np.arange(n) / SR
        v = saw_additive(np.full(n, midi_hz(note)), t, n_harm=30)
        v += saw_additive(np.full(n, midi_hz(note) * 2 ** (8 / 1200)), t, n_harm=30)
        env = np.exp(-t / 0.09)
        add_at(synth, v * env * 0.12, s * step)
        # sub bass: on off-beat 8ths (classic house) with root
        if s % 4 == 2:
            nb = int(step * 1.9 * SR)
            tb = np.arange(nb) / SR
            fb = midi_hz(root - 24 if root >= 52 else root - 12)
            b_sig = np.sin(2 * np.pi * fb * tb) + 0.3 * np.sin(4 * np.pi * fb * tb)
            add_at(bass, b_sig * adsr(nb, 0.005, 0.05, 0.8, 0.05) * 0.45, s * step)
    synth = biquad(synth, "lp", 3000, q=1.5)
    # sidechain-style pumping on the synths
    pump = np.ones(N)
    for b in range(n_beats):
        i = int(b * beat * SR)
        m = int(beat * SR)
        seg = 1 - 0.6 * np.exp(-np.arange(m) / SR / 0.08)
        pump[i : i + m] = seg[: max(0, min(m, N - i))]
    pads = np.zeros(N)
    for bar in range(int(DURATION / (4 * beat)) + 1):
        root, ivs = prog[bar % 4]
        n = int(4 * beat * SR)
        t = np.arange(n) / SR
        for iv in ivs:
            pads_v = saw_additive(np.full(n, midi_hz(root + iv)), t, n_harm=12)
            add_at(pads, pads_v * adsr(n, 0.05, 0.1, 0.8, 0.1) * 0.05, bar * 4 * beat)
    pads = onepole_lp(pads, 1500)
    out = drums + (synth + pads) * pump + bass * pump
    return lowpass4(simple_reverb(out, rng, seconds=1.0, mix=0.12), 8000)


# ---------------------------------------------------------------- rock


def snare(rng, length=0.25):
    n = int(length * SR)
    t = np.arange(n) / SR
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04)
    noise = biquad(rng.standard_normal(n), "hp", 1200) * np.exp(-t / 0.08)
    return 0.6 * body + noise


def rock(rng):
    bpm = 132
    beat = 60 / bpm
    eighth = beat / 2
    drums = np.zeros(N)
    n_beats = int(DURATION / beat) + 1
    k = kick(length=0.3, f_start=120, f_end=55, click=0.5, rng=rng)
    for b in range(n_beats):
        if b % 2 == 0:
            add_at(drums, k * 0.9, b * beat)
            if b % 4 == 2:
                add_at(drums, k * 0.6, b * beat + eighth)
        else:
            add_at(drums, snare(rng) * 0.7, b * beat)
        for e in range(2):
            add_at(drums, hat(rng, cutoff=6000, decay=0.04) * (0.25, 0.18)[e], b * beat + e * eighth)
        if b % 16 == 0:  # crash every 4 bars
            n = int(1.5 * SR)
            tt = np.arange(n) / SR
            cr = biquad(rng.standard_normal(n), "hp", 4000) * np.exp(-tt / 0.5)
            add_at(drums, cr * 0.3, b * beat)
    # E5 - C5 - G5 - D5 (riff), one bar each, palm-muted 8ths + held chord
    prog = [40, 36, 43, 38]
    guitar = np.zeros(N)
    bass = np.zeros(N)
    n_bars = int(DURATION / (4 * beat)) + 1
    for bar in range(n_bars):
        root = prog[bar % 4]
        for e in range(8):
            start = bar * 4 * beat + e * eighth
            held = e in (0, 3, 6)
            length = eighth * (3 if held else 1) * 0.98
            n = int(length * SR)
            t = np.arange(n) / SR
            v = np.zeros(n)
            for iv, g in ((0, 1.0), (7, 0.8), (12, 0.6)):
                f = midi_hz(root + 12 + iv)
                for det in (-7, 7):  # double-tracked
                    v += g * saw_additive(np.full(n, f * 2 ** (det / 1200)), t, n_harm=40)
            env = adsr(n, 0.003, 0.05, 0.9 if held else 0.6, 0.02)
            add_at(guitar, v * env, start)
            nb = n
            tb = np.arange(nb) / SR
            fb = midi_hz(root)
            bsig = saw_additive(np.full(nb, fb), tb, n_harm=10)
            add_at(bass, bsig * adsr(nb, 0.005, 0.05, 0.8, 0.02) * 0.35, start)
    # distortion: pre-emphasis, tanh drive, cabinet-ish low-pass
    g = biquad(guitar, "hp", 120)
    g = np.tanh(40 * g / np.max(np.abs(g)))
    g = biquad(g, "lp", 3000, q=0.9)  # speaker-cabinet-like roll-off
    g = biquad(g, "lp", 3600, q=0.7)
    bass = onepole_lp(bass, 800)
    out = drums + 1.5 * g / np.max(np.abs(g)) + bass
    return lowpass4(simple_reverb(out, rng, seconds=0.8, mix=0.1), 5500)


def main():
    makers = {
        "demo_orchestral_30s.flac": orchestral,
        "demo_electronic_30s.flac": electronic,
        "demo_rock_30s.flac": rock,
    }
    for i, (name, fn) in enumerate(makers.items()):
        rng = np.random.default_rng(SEED + i)
        x = normalise(fn(rng)[:N].astype(np.float64))
        path = OUT_DIR / name
        sf.write(path, x, SR, subtype="PCM_16", format="FLAC", compression_level=1.0)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB, {len(x) / SR:.1f} s)")


if __name__ == "__main__":
    main()
