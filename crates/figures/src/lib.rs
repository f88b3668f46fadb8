//! PNG pictures: heatmaps over a time axis (spectrograms, attributions, taggrams) with
//! labelled axes and a colour bar, alone or side by side.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary (its licence is in
//! `assets/DejaVuSans.LICENSE`), so pictures look the same on any machine.
//!
//! ```no_run
//! use genre_figures::{Heatmap, Palette};
//! let values = vec![0.0f32; 128 * 130]; // [rows, columns], row 0 at the bottom
//! let map = Heatmap::new("log-mel", values, 128, 130)
//!     .with_x_range(0.0, 3.0, "time (s)")
//!     .with_palette(Palette::Magma);
//! genre_figures::save_png("mel.png", &[map], 1)?;
//! # Ok::<(), genre_figures::FigureError>(())
//! ```

#![deny(missing_docs)]

use std::sync::Once;

use plotters::style::FontStyle;

mod charts;
mod error;
mod heatmap;
mod palette;

pub use charts::{LineChart, save_line_charts_png};
pub use error::FigureError;
pub use heatmap::{Heatmap, frequency_labels, render_png, save_png};
pub use palette::Palette;

static FONT: Once = Once::new();

/// Makes DejaVu Sans plotters' `"sans-serif"` font. Any crate that draws text with
/// plotters (PNG or SVG) calls this first: with plotters' `ab_glyph` text layout, an
/// unregistered font draws no text at all. Idempotent and cheap.
pub fn register_font() {
    FONT.call_once(|| {
        const DEJAVU: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // Fails only if the embedded file is not a font, which a test would show.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU);
    });
}

#[cfg(test)]
mod tests {
    use plotters::style::RGBColor;

    use super::*;
    use crate::heatmap::format_tick;

    #[test]
    fn writes_a_png_with_text_and_rejects_bad_shapes() {
        let dir = tempfile::Builder::new().prefix("genre-figures-").tempdir().expect("a temp folder for the test");
        let path = dir.path().join("map.png");
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let map = Heatmap::new("test", values.clone(), 3, 4)
            .with_x_range(0.0, 3.0, "time (s)")
            .with_row_labels(vec!["a".into(), "b".into(), "c".into()], 3, "rows")
            .with_background(values.clone())
            .with_colour_bar("value");
        save_png(&path, &[map], 1).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let chart = LineChart::new("curve", (0.0, 1.0), (0.0, 1.0))
            .with_labels("x", "y")
            .with_series("line", vec![(0.0, 0.0), (1.0, 0.5)], false)
            .with_series("reference", vec![(0.0, 0.0), (1.0, 1.0)], true);
        save_line_charts_png(dir.path().join("lines.png"), &[chart]).unwrap();
        assert_eq!(&std::fs::read(dir.path().join("lines.png")).unwrap()[1..4], b"PNG");
        let bad = Heatmap::new("bad", values, 5, 5);
        assert!(matches!(save_png(dir.path().join("bad.png"), &[bad], 1), Err(FigureError::Shape { .. })));
    }

    #[test]
    fn palettes_span_their_ends() {
        assert_ne!(Palette::Magma.colour(0.0), Palette::Magma.colour(1.0));
        assert_eq!(Palette::Diverging.colour(0.5), RGBColor(255, 255, 255));
        assert_eq!(format_tick(0.5), "0.50");
        assert_eq!(format_tick(12345.0), "1.2e4");
        assert_eq!(format_tick(-1.4e-17), "0");
        assert_eq!(frequency_labels(&[440.0, 2500.0]), ["440 Hz", "2.5 kHz"]);
    }
}
