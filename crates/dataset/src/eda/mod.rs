//! Exploratory data analysis: one self-contained HTML page about a collection.
//!
//! [`describe`] decodes the first 30 s of every track (at the feature rate) and measures
//! loudness, spectral centroid and zero-crossing rate, keeping one example per genre;
//! [`render_html`] turns that and a [`ValidationReport`] into a page of SVG charts.

mod plots;

use std::fmt::Write as _;

use genre_dsp::{AudioStream, FeatureConfig, FeatureExtractor, FeatureScale, descriptors};

use crate::index::TrackIndex;
use crate::validate::ValidationReport;

/// Descriptors of one track's first 30 s.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackDescriptors {
    /// RMS level, dBFS.
    pub rms_dbfs: f64,
    /// Mean spectral centroid, Hz.
    pub centroid_hz: f64,
    /// Zero-crossing rate, crossings per sample.
    pub zcr: f64,
}

/// One genre's example track: its waveform and first segment's log-mel.
#[derive(Debug, Clone)]
pub struct GenreExample {
    /// Track id.
    pub id: String,
    /// First 30 s at the feature rate.
    pub waveform: Vec<f32>,
    /// Log-mel dB of the first segment, `[n_mels, n_frames]`.
    pub mel_db: Vec<f32>,
}

/// What [`describe`] measured.
#[derive(Debug, Clone)]
pub struct Description {
    /// Per track, in index order; `None` where the file did not decode.
    pub tracks: Vec<Option<TrackDescriptors>>,
    /// Per genre, in label order; `None` where no track of it decoded.
    pub examples: Vec<Option<GenreExample>>,
    config: FeatureConfig,
}

/// Measures every track on `threads` threads, calling `progress` after each.
pub fn describe(
    index: &TrackIndex,
    config: &FeatureConfig,
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> Description {
    let limit = config.segment_samples * config.segments_per_clip;
    let measure = |i: usize| {
        let samples =
            AudioStream::open(&index.tracks()[i].path, config.sample_rate).and_then(|mut s| s.read_up_to(Some(limit)));
        samples.ok().map(|y| {
            let d = TrackDescriptors {
                rms_dbfs: descriptors::rms_dbfs(&y),
                centroid_hz: descriptors::spectral_centroid(&y, config.sample_rate),
                zcr: descriptors::zero_crossing_rate(&y),
            };
            (d, y)
        })
    };
    let measured = crate::parallel::map_indexed(index.tracks().len(), threads, &measure, progress);
    let extractor = FeatureExtractor::new(config.clone()).ok();
    let mut examples: Vec<Option<GenreExample>> = vec![None; index.labels().len()];
    let mut tracks = Vec::with_capacity(measured.len());
    for (i, result) in measured.into_iter().enumerate() {
        let label = index.tracks()[i].label;
        match result {
            Some((d, y)) => {
                if let (None, Some(extractor)) = (&examples[label], &extractor) {
                    let mut segment = y[..y.len().min(config.segment_samples)].to_vec();
                    segment.resize(config.segment_samples, 0.0);
                    let mut mel_db = vec![0.0; config.n_mels * config.n_frames()];
                    extractor.segment_features(&segment, FeatureScale::Decibels, &mut mel_db);
                    examples[label] = Some(GenreExample { id: index.tracks()[i].id.clone(), waveform: y, mel_db });
                }
                tracks.push(Some(d));
            }
            None => tracks.push(None),
        }
    }
    Description { tracks, examples, config: config.clone() }
}

/// The report: one HTML page with every chart inline.
pub fn render_html(index: &TrackIndex, validation: &ValidationReport, description: &Description) -> String {
    let labels = index.labels().to_vec();
    let per_genre = |f: &dyn Fn(usize) -> Option<f64>| -> Vec<Vec<f64>> {
        let mut groups = vec![Vec::new(); labels.len()];
        for (i, t) in index.tracks().iter().enumerate() {
            if let Some(v) = f(i) {
                groups[t.label].push(v);
            }
        }
        groups
    };
    let facts = |i: usize| validation.tracks.get(i).and_then(|t| t.facts.as_ref());
    let desc = |i: usize| description.tracks.get(i).and_then(Option::as_ref);
    let counts: Vec<f64> = index.counts().iter().map(|&c| c as f64).collect();

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>EDA: {root}</title><style>{CSS}</style></head><body>\
         <h1>Exploratory analysis</h1><p class=\"sub\">{root} &middot; layout {layout:?} &middot; {n} tracks &middot; {g} genres</p>",
        root = escape(&index.root().display().to_string()),
        layout = index.layout(),
        n = index.tracks().len(),
        g = labels.len(),
    );
    html.push_str("<h2>Genres</h2><div class=\"row\">");
    html.push_str(&plots::bars("Tracks per genre", &labels, &counts));
    html.push_str("</div><h2>Duration, loudness, brightness, noisiness</h2><div class=\"grid\">");
    html.push_str(&plots::boxplots("Duration", "seconds", &labels, &per_genre(&|i| facts(i).map(|f| f.duration_s))));
    html.push_str(&plots::boxplots(
        "RMS loudness (first 30 s)",
        "dBFS",
        &labels,
        &per_genre(&|i| desc(i).map(|d| d.rms_dbfs)),
    ));
    html.push_str(&plots::boxplots(
        "Spectral centroid (first 30 s)",
        "Hz",
        &labels,
        &per_genre(&|i| desc(i).map(|d| d.centroid_hz)),
    ));
    html.push_str(&plots::boxplots(
        "Zero-crossing rate (first 30 s)",
        "crossings / sample",
        &labels,
        &per_genre(&|i| desc(i).map(|d| d.zcr)),
    ));
    html.push_str("</div><h2>Sample rates and channels</h2><table><tr><th>genre</th><th>files</th><th>unreadable</th><th>duration min / mean / max (s)</th><th>sample rates</th><th>channels</th></tr>");
    for g in &validation.genres {
        let consistent = g.sample_rates.len() <= 1 && g.channels.len() <= 1;
        let _ = write!(
            html,
            "<tr{cls}><td>{}</td><td>{}</td><td>{}</td><td>{:.2} / {:.2} / {:.2}</td><td>{}</td><td>{}</td></tr>",
            escape(&g.genre),
            g.files,
            g.unreadable,
            g.duration_s[0],
            g.duration_s[1],
            g.duration_s[2],
            g.sample_rates_text(),
            g.channels_text(),
            cls = if consistent && g.unreadable == 0 { "" } else { " class=\"warn\"" },
        );
    }
    html.push_str("</table><h2>One track per genre</h2><div class=\"grid\">");
    let cfg = &description.config;
    for (genre, example) in labels.iter().zip(&description.examples) {
        let Some(ex) = example else {
            let _ = write!(html, "<div><h3>{}</h3><p>no readable track</p></div>", escape(genre));
            continue;
        };
        let _ = write!(html, "<div><h3>{} &middot; <code>{}</code></h3>", escape(genre), escape(&ex.id));
        html.push_str(&plots::waveform("Waveform, first 30 s", &ex.waveform, cfg.sample_rate));
        html.push_str(&plots::mel_heatmap(
            "Log-mel, first 3 s (dB re max)",
            &ex.mel_db,
            cfg.n_mels,
            cfg.n_frames(),
            cfg.segment_seconds(),
        ));
        html.push_str("</div>");
    }
    html.push_str("</div><h2>Validation findings</h2>");
    let unreadable: Vec<_> = validation.unreadable().collect();
    let _ = write!(html, "<p>{} unreadable files.</p><ul>", unreadable.len());
    for (_, error) in unreadable {
        let _ = write!(html, "<li><code>{}</code></li>", escape(error));
    }
    let _ = write!(
        html,
        "</ul><p>{} groups of identical audio (kept in one set by every split).</p><ul>",
        validation.duplicates.len()
    );
    for group in &validation.duplicates {
        let _ = write!(html, "<li><code>{}</code></li>", escape(&group.join(" = ")));
    }
    html.push_str("</ul></body></html>\n");
    html
}

const CSS: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1360px}h1{margin-bottom:0}\
.sub{color:#666;margin-top:4px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(650px,1fr));gap:12px}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}tr.warn{background:#fff3cd}\
h3{font-size:15px;margin:8px 0}code{font-size:13px}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
