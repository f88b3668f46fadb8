//! Colour maps: magma for spectrograms, viridis, grey, and a diverging one for signed
//! attributions.

use plotters::prelude::*;
use plotters::style::colors::colormaps::{BlackWhite, ViridisRGB};

/// Colour maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// Dark purple to yellow (spectrograms).
    Magma,
    /// Blue-green-yellow (attributions, probabilities).
    Viridis,
    /// Black to white.
    Grey,
    /// Blue for negative, white at zero, red for positive (signed attributions).
    Diverging,
}

impl Palette {
    /// The colour of `t` in `[0, 1]`.
    pub fn colour(self, t: f64) -> RGBColor {
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        match self {
            Palette::Magma => magma(t),
            Palette::Viridis => {
                let c = ViridisRGB::get_color_normalized(t, 0.0, 1.0);
                RGBColor(c.0, c.1, c.2)
            }
            Palette::Grey => {
                let c = BlackWhite::get_color_normalized(t, 0.0, 1.0);
                RGBColor(c.0, c.1, c.2)
            }
            Palette::Diverging => {
                let (lo, hi) = ((0.23, 0.30, 0.75), (0.71, 0.02, 0.15));
                let (end, s) = if t < 0.5 { (lo, 1.0 - 2.0 * t) } else { (hi, 2.0 * t - 1.0) };
                let mix = |a: f64| ((1.0 - s) + s * a) * 255.0;
                RGBColor(mix(end.0) as u8, mix(end.1) as u8, mix(end.2) as u8)
            }
        }
    }
}

/// Magma, from its published control points, linearly interpolated.
fn magma(t: f64) -> RGBColor {
    const POINTS: [(f64, f64, f64); 9] = [
        (0.001, 0.000, 0.014),
        (0.078, 0.055, 0.212),
        (0.232, 0.060, 0.438),
        (0.390, 0.100, 0.502),
        (0.550, 0.161, 0.506),
        (0.716, 0.215, 0.475),
        (0.868, 0.288, 0.409),
        (0.967, 0.439, 0.360),
        (0.987, 0.991, 0.750),
    ];
    let x = t * (POINTS.len() - 1) as f64;
    let i = (x.floor() as usize).min(POINTS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (POINTS[i], POINTS[i + 1]);
    let lerp = |p: f64, q: f64| ((p + (q - p) * f) * 255.0).round() as u8;
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}
