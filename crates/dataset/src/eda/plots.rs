//! SVG charts for the EDA report, drawn with plotters' SVG backend (text is SVG text,
//! laid out with the font `figures` embeds; the report stays one self-contained page).

use plotters::prelude::*;

/// Chart size in pixels.
const SIZE: (u32, u32) = (640, 320);

fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    genre_figures::register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let result = root.fill(&WHITE).map_err(|e| e.to_string()).and_then(|_| draw(&root));
        if let Err(e) = result.and_then(|_| root.present().map_err(|e| e.to_string())) {
            return format!("<p>chart failed: {e}</p>");
        }
    }
    out
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart with one column per label along x and `y` values, its mesh drawn.
fn labelled_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    labels: &[String],
    y: std::ops::Range<f64>,
    unit: &str,
) -> Result<Chart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..labels.len() as f64 - 0.5, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&|x| label_at(labels, *x))
        .y_desc(unit)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// A bar per label.
pub fn bars(title: &str, labels: &[String], values: &[f64]) -> String {
    let top = values.iter().copied().fold(0.0, f64::max) * 1.15 + 1e-9;
    svg(SIZE, |root| {
        let mut chart = labelled_chart(root, title, labels, 0.0..top, "tracks")?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                Rectangle::new([(i as f64 - 0.35, 0.0), (i as f64 + 0.35, v)], Palette99::pick(i).filled())
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A box plot per label: box from the first to the third quartile, line at the median,
/// whiskers to the extremes.
pub fn boxplots(title: &str, unit: &str, labels: &[String], groups: &[Vec<f64>]) -> String {
    let finite: Vec<f64> = groups.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = (hi - lo).max(1e-9) * 0.08;
    svg(SIZE, |root| {
        let mut chart = labelled_chart(root, title, labels, lo - pad..hi + pad, unit)?;
        for (i, values) in groups.iter().enumerate() {
            let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let q = |p: f64| {
                let pos = p * (v.len() - 1) as f64;
                let (a, b) = (pos.floor() as usize, pos.ceil() as usize);
                v[a] + (v[b] - v[a]) * (pos - a as f64)
            };
            let x = i as f64;
            let colour = Palette99::pick(i);
            let lines = [
                vec![(x, v[0]), (x, q(0.25))],
                vec![(x, q(0.75)), (x, v[v.len() - 1])],
                vec![(x - 0.15, v[0]), (x + 0.15, v[0])],
                vec![(x - 0.15, v[v.len() - 1]), (x + 0.15, v[v.len() - 1])],
                vec![(x - 0.3, q(0.5)), (x + 0.3, q(0.5))],
            ];
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, q(0.25)), (x + 0.3, q(0.75))],
                    colour.mix(0.35).filled(),
                )))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(lines.into_iter().map(|l| PathElement::new(l, BLACK.stroke_width(2))))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The min/max envelope of `samples` at `rate` Hz, time in seconds.
pub fn waveform(title: &str, samples: &[f32], rate: u32) -> String {
    let columns = 600usize;
    let per = samples.len().div_ceil(columns).max(1);
    let seconds = samples.len() as f64 / f64::from(rate);
    svg((640, 200), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..seconds.max(1e-3), -1.0f64..1.0)
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().x_desc("s").draw().map_err(|e| e.to_string())?;
        chart
            .draw_series(samples.chunks(per).enumerate().map(|(i, c)| {
                let (lo, hi) = c.iter().fold((0.0f32, 0.0f32), |(a, b), &s| (a.min(s), b.max(s)));
                let t = (i * per) as f64 / f64::from(rate);
                PathElement::new(vec![(t, f64::from(lo)), (t, f64::from(hi))], BLUE.stroke_width(1))
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A log-mel spectrogram (`[n_mels, n_frames]` dB, row-major) as a heat map, averaged
/// down to at most 64 x 65 cells; time in seconds, mel band index upwards.
pub fn mel_heatmap(title: &str, db: &[f32], n_mels: usize, n_frames: usize, seconds: f64) -> String {
    let (rows, cols) = (n_mels.min(64), n_frames.min(65));
    let cell = |r: usize, c: usize| {
        let (m0, m1) = (r * n_mels / rows, (r + 1) * n_mels / rows);
        let (f0, f1) = (c * n_frames / cols, (c + 1) * n_frames / cols);
        let mut sum = 0.0;
        for m in m0..m1 {
            for f in f0..f1 {
                sum += f64::from(db[m * n_frames + f]);
            }
        }
        sum / ((m1 - m0) * (f1 - f0)) as f64
    };
    svg((640, 260), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..seconds, 0.0..n_mels as f64)
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().disable_mesh().x_desc("s").y_desc("mel band").draw().map_err(|e| e.to_string())?;
        let (dx, dy) = (seconds / cols as f64, n_mels as f64 / rows as f64);
        chart
            .draw_series((0..rows).flat_map(|r| (0..cols).map(move |c| (r, c))).map(|(r, c)| {
                let v = ((cell(r, c) + 80.0) / 80.0).clamp(0.0, 1.0);
                let colour = ViridisRGB::get_color(v);
                Rectangle::new(
                    [(c as f64 * dx, r as f64 * dy), ((c + 1) as f64 * dx, (r + 1) as f64 * dy)],
                    colour.filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

fn label_at(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
}
