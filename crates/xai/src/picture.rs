//! Attribution maps drawn over the spectrogram they explain.

use std::path::Path;

use genre_dsp::FeatureConfig;
use genre_figures::{Heatmap, Palette};

use crate::{Attribution, Method, Result};

/// The centre frequency of each mel band of `config`, as row labels.
pub fn mel_row_labels(config: &FeatureConfig) -> Vec<String> {
    let fmax = config.fmax.unwrap_or(f64::from(config.sample_rate) / 2.0);
    let (lo, hi) = (genre_dsp::mel::hz_to_mel(config.fmin), genre_dsp::mel::hz_to_mel(fmax));
    let step = (hi - lo) / (config.n_mels + 1) as f64;
    let centres: Vec<f64> = (1..=config.n_mels).map(|i| genre_dsp::mel::mel_to_hz(lo + step * i as f64)).collect();
    genre_figures::frequency_labels(&centres)
}

/// One PNG: the segment's spectrogram, then each attribution over it (grey
/// spectrogram, coloured attribution), side by side. Signed maps (integrated
/// gradients, occlusion) use a blue-white-red scale symmetric about zero.
pub fn draw_explanations(
    path: impl AsRef<Path>,
    segment: &[f32],
    attributions: &[Attribution],
    config: &FeatureConfig,
    start_seconds: f64,
    caption: &str,
) -> Result<()> {
    let maps = explanation_heatmaps(segment, attributions, config, start_seconds, caption);
    let per_row = if maps.len() > 2 { 2 } else { maps.len() };
    genre_figures::save_png(path, &maps, per_row)?;
    Ok(())
}

/// The panels [`draw_explanations`] draws (input, then one per attribution), for a
/// caller that renders them itself, e.g. with [`genre_figures::render_png`].
pub fn explanation_heatmaps(
    segment: &[f32],
    attributions: &[Attribution],
    config: &FeatureConfig,
    start_seconds: f64,
    caption: &str,
) -> Vec<Heatmap> {
    let [rows, columns] = [config.n_mels, config.n_frames()];
    let end = start_seconds + config.segment_seconds();
    let labels = mel_row_labels(config);
    let axes = |map: Heatmap| {
        map.with_x_range(start_seconds, end, "time (s)").with_row_labels(labels.clone(), 8, "mel band (centre)")
    };
    let mut maps = vec![
        axes(Heatmap::new(format!("{caption}: input log-mel"), segment.to_vec(), rows, columns))
            .with_palette(Palette::Magma)
            .with_colour_bar("model input"),
    ];
    for a in attributions {
        // The colour scale ends at the 99.5th percentile of |attribution|, so that a few
        // extreme cells do not wash out the rest of the map.
        let mut magnitudes: Vec<f32> = a.values.iter().map(|v| v.abs()).collect();
        magnitudes.sort_by(f32::total_cmp);
        let peak = magnitudes.get(magnitudes.len() * 995 / 1000).copied().unwrap_or(0.0).max(f32::MIN_POSITIVE);
        let (palette, low) = match a.method {
            Method::GradCam => (Palette::Viridis, 0.0),
            _ => (Palette::Diverging, -f64::from(peak)),
        };
        maps.push(
            axes(Heatmap::new(a.method.name(), a.values.clone(), rows, columns))
                .with_palette(palette)
                .with_range(low, f64::from(peak))
                .with_background(segment.to_vec())
                .with_colour_bar("attribution"),
        );
    }
    maps
}
