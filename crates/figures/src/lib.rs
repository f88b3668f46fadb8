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

use std::path::{Path, PathBuf};
use std::sync::Once;

use image::ImageEncoder;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{BlackWhite, ViridisRGB};

/// Why a picture could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FigureError {
    /// Drawing or encoding failed.
    #[error("{path}: cannot draw the picture: {reason}")]
    Draw {
        /// The picture being written.
        path: PathBuf,
        /// What plotters said.
        reason: String,
    },
    /// A heatmap whose values do not fill its grid.
    #[error("heatmap {title:?}: {values} values for {rows} x {columns}")]
    Shape {
        /// The heatmap's title.
        title: String,
        /// Number of values given.
        values: usize,
        /// Rows expected.
        rows: usize,
        /// Columns expected.
        columns: usize,
    },
}

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

/// A grid of values drawn as coloured cells, optionally over a grey background grid
/// of the same shape (an explanation over its spectrogram).
pub struct Heatmap {
    title: String,
    values: Vec<f32>,
    rows: usize,
    columns: usize,
    x: (f64, f64, String),
    y_label: String,
    row_labels: Vec<String>,
    y_ticks: usize,
    column_labels: Vec<String>,
    palette: Palette,
    range: Option<(f64, f64)>,
    background: Option<Vec<f32>>,
    colour_bar: String,
}

impl Heatmap {
    /// `values` row-major `[rows, columns]`, row 0 drawn at the bottom.
    pub fn new(title: impl Into<String>, values: Vec<f32>, rows: usize, columns: usize) -> Self {
        Heatmap {
            title: title.into(),
            values,
            rows,
            columns,
            x: (0.0, columns as f64, String::new()),
            y_label: String::new(),
            row_labels: Vec::new(),
            y_ticks: 0,
            column_labels: Vec::new(),
            palette: Palette::Viridis,
            range: None,
            background: None,
            colour_bar: String::new(),
        }
    }

    /// The x axis runs from `start` to `end` (e.g. seconds) under `label`.
    pub fn with_x_range(mut self, start: f64, end: f64, label: impl Into<String>) -> Self {
        self.x = (start, end, label.into());
        self
    }

    /// One text per row (e.g. a tag, or a mel band's frequency), about `ticks` of
    /// them shown, under the axis caption `label`.
    pub fn with_row_labels(mut self, labels: Vec<String>, ticks: usize, label: impl Into<String>) -> Self {
        self.row_labels = labels;
        self.y_ticks = ticks;
        self.y_label = label.into();
        self
    }

    /// One text per column (e.g. predicted classes), shown under each column instead
    /// of the x axis's numbers, with `label` as the axis caption.
    pub fn with_column_labels(mut self, labels: Vec<String>, label: impl Into<String>) -> Self {
        self.x = (-0.5, self.columns as f64 - 0.5, label.into());
        self.column_labels = labels;
        self
    }

    /// The colour map.
    pub fn with_palette(mut self, palette: Palette) -> Self {
        self.palette = palette;
        self
    }

    /// Values mapped to the ends of the palette (default: the data's minimum and maximum).
    pub fn with_range(mut self, low: f64, high: f64) -> Self {
        self.range = Some((low, high));
        self
    }

    /// A grey picture under the colours (same shape); the colours are then blended
    /// over it in proportion to how far each value is from the palette's low end.
    pub fn with_background(mut self, background: Vec<f32>) -> Self {
        self.background = Some(background);
        self
    }

    /// The colour bar's caption.
    pub fn with_colour_bar(mut self, label: impl Into<String>) -> Self {
        self.colour_bar = label.into();
        self
    }

    fn check(&self) -> Result<(), FigureError> {
        let n = self.rows * self.columns;
        let background_ok = self.background.as_ref().is_none_or(|b| b.len() == n);
        if self.values.len() != n || !background_ok || n == 0 {
            return Err(FigureError::Shape {
                title: self.title.clone(),
                values: self.values.len(),
                rows: self.rows,
                columns: self.columns,
            });
        }
        Ok(())
    }

    fn value_range(&self) -> (f64, f64) {
        self.range.unwrap_or_else(|| finite_range(&self.values))
    }
}

fn finite_range(values: &[f32]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(f64::from(v)), hi.max(f64::from(v))));
    match (lo.is_finite(), hi > lo) {
        (false, _) => (0.0, 1.0),
        (true, true) => (lo, hi),
        (true, false) => (lo - 0.5, lo + 0.5), // all equal
    }
}

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

/// Pixels of one panel.
const PANEL: (u32, u32) = (760, 420);

/// Draws `maps` in a grid of `columns` panels per row and writes a PNG to `path`.
pub fn save_png(path: impl AsRef<Path>, maps: &[Heatmap], columns: usize) -> Result<(), FigureError> {
    let path = path.as_ref();
    for map in maps {
        map.check()?;
    }
    let size = grid_size(maps, columns, PANEL);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    draw_grid(&root, maps, columns).map_err(|reason| FigureError::Draw { path: path.to_path_buf(), reason })
}

/// Draws `maps` like [`save_png`], with panels of `panel` pixels (width, height), and
/// returns the PNG file's bytes (for a server that answers with the picture).
///
/// ```
/// let map = genre_figures::Heatmap::new("ramp", (0..12).map(|v| v as f32).collect(), 3, 4);
/// let png = genre_figures::render_png(&[map], 1, (400, 300))?;
/// assert_eq!(&png[1..4], b"PNG");
/// # Ok::<(), genre_figures::FigureError>(())
/// ```
pub fn render_png(maps: &[Heatmap], columns: usize, panel: (u32, u32)) -> Result<Vec<u8>, FigureError> {
    for map in maps {
        map.check()?;
    }
    let fail = |reason: String| FigureError::Draw { path: PathBuf::from("<memory>"), reason };
    let (width, height) = grid_size(maps, columns, panel);
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw_grid(&root, maps, columns).map_err(fail)?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, width, height, image::ColorType::Rgb8)
        .map_err(|e| fail(e.to_string()))?;
    Ok(png)
}

fn grid_size(maps: &[Heatmap], columns: usize, panel: (u32, u32)) -> (u32, u32) {
    let columns = columns.clamp(1, maps.len().max(1));
    let rows = maps.len().div_ceil(columns).max(1);
    (panel.0 * columns as u32, panel.1 * rows as u32)
}

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    maps: &[Heatmap],
    columns: usize,
) -> Result<(), String> {
    register_font();
    let columns = columns.clamp(1, maps.len().max(1));
    let rows = maps.len().div_ceil(columns).max(1);
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    for (map, area) in maps.iter().zip(root.split_evenly((rows, columns))) {
        draw_heatmap(&area, map)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    map: &Heatmap,
) -> Result<(), String> {
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(90));
    let (x0, x1, ref x_label) = map.x;
    let mut chart = ChartBuilder::on(&main)
        .caption(&map.title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(38)
        .y_label_area_size(if map.row_labels.is_empty() { 40 } else { 110 })
        .build_cartesian_2d(x0..x1, -0.5..map.rows as f64 - 0.5)
        .map_err(|e| e.to_string())?;
    // Rows and columns are centred on integers; a tick shows the label of the one it
    // falls on.
    let (rows, columns) = (&map.row_labels, &map.column_labels);
    let y_formatter = |y: &f64| label_at(rows, *y);
    let x_formatter = |x: &f64| label_at(columns, *x);
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh().x_desc(x_label.as_str()).y_desc(map.y_label.as_str()).label_style(("sans-serif", 13));
    if !columns.is_empty() {
        mesh.x_labels(columns.len()).x_label_formatter(&x_formatter);
    }
    if !rows.is_empty() {
        mesh.y_labels(map.y_ticks.max(1)).y_label_formatter(&y_formatter);
    }
    mesh.draw().map_err(|e| e.to_string())?;
    let (lo, hi) = map.value_range();
    let background_range = map.background.as_deref().map(finite_range);
    let dx = (x1 - x0) / map.columns as f64;
    let cells = (0..map.rows).flat_map(|r| (0..map.columns).map(move |c| (r, c)));
    chart
        .draw_series(cells.map(|(r, c)| {
            let i = r * map.columns + c;
            let t = (f64::from(map.values[i]) - lo) / (hi - lo);
            let mut colour = map.palette.colour(t);
            if let (Some(bg), Some((blo, bhi))) = (&map.background, background_range) {
                let grey = ((f64::from(bg[i]) - blo) / (bhi - blo)).clamp(0.0, 1.0);
                let alpha = match map.palette {
                    Palette::Diverging => (2.0 * (t - 0.5)).abs(),
                    _ => t,
                }
                .clamp(0.0, 1.0);
                let blend = |c: u8| ((1.0 - alpha) * grey * 255.0 + alpha * f64::from(c)) as u8;
                colour = RGBColor(blend(colour.0), blend(colour.1), blend(colour.2));
            }
            let x = x0 + c as f64 * dx;
            Rectangle::new([(x, r as f64 - 0.5), (x + dx, r as f64 + 0.5)], colour.filled())
        }))
        .map_err(|e| e.to_string())?;
    draw_colour_bar(&bar, map.palette, lo, hi, &map.colour_bar)
}

fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    palette: Palette,
    lo: f64,
    hi: f64,
    label: &str,
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(34)
        .margin_bottom(46)
        .margin_right(4)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_desc(label)
        .label_style(("sans-serif", 12))
        .y_label_formatter(&|v: &f64| format_tick(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    let steps = 100;
    chart
        .draw_series((0..steps).map(|i| {
            let (a, b) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
            let colour = palette.colour(a);
            Rectangle::new([(0.0, lo + a * (hi - lo)), (1.0, lo + b * (hi - lo))], colour.filled())
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The label of the row or column centred on `position`, if `position` is a whole number.
fn label_at(labels: &[String], position: f64) -> String {
    let index = position.round();
    if (index - position).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    labels.get(index as usize).cloned().unwrap_or_default()
}

/// A tick value with as few digits as its size needs.
fn format_tick(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        return "0".into(); // a zero that rounding left as 1e-17
    }
    if a != 0.0 && !(1e-2..1e4).contains(&a) { format!("{v:.1e}") } else { format!("{v:.2}") }
}

/// Lines (or points) on shared axes: learning curves, reliability diagrams.
pub struct LineChart {
    title: String,
    x_label: String,
    y_label: String,
    x: (f64, f64),
    y: (f64, f64),
    series: Vec<Series>,
}

/// One line of a [`LineChart`].
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    /// A reference line: grey, dashed, no markers.
    dashed: bool,
}

impl LineChart {
    /// An empty chart with fixed axis ranges.
    pub fn new(title: impl Into<String>, x: (f64, f64), y: (f64, f64)) -> Self {
        LineChart { title: title.into(), x_label: String::new(), y_label: String::new(), x, y, series: Vec::new() }
    }

    /// Axis captions.
    pub fn with_labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// Adds a line through `points`, named in the legend; `dashed` for a reference line.
    pub fn with_series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>, dashed: bool) -> Self {
        self.series.push(Series { name: name.into(), points, dashed });
        self
    }
}

/// Draws `charts` side by side and writes a PNG to `path`.
pub fn save_line_charts_png(path: impl AsRef<Path>, charts: &[LineChart]) -> Result<(), FigureError> {
    let path = path.as_ref();
    register_font();
    let fail = |e: String| FigureError::Draw { path: path.to_path_buf(), reason: e };
    let n = charts.len().max(1);
    let root = BitMapBackend::new(path, (560 * n as u32, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    for (chart, area) in charts.iter().zip(root.split_evenly((1, n))) {
        draw_lines(&area, chart).map_err(fail)?;
    }
    root.present().map_err(|e| fail(e.to_string()))
}

fn draw_lines<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, c: &LineChart) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(c.x.0..c.x.1, c.y.0..c.y.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    let colours = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];
    for (i, Series { name, points, dashed }) in c.series.iter().enumerate() {
        let colour = if *dashed { RGBColor(150, 150, 150) } else { colours[i % colours.len()] };
        let style = ShapeStyle { color: colour.to_rgba(), filled: false, stroke_width: 2 };
        let drawn = if *dashed {
            chart.draw_series(DashedLineSeries::new(points.iter().copied(), 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(points.iter().copied(), style))
        };
        drawn
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour));
        if !*dashed {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())
}

/// Frequencies as row labels (`"440 Hz"`, `"2.5 kHz"`), e.g. mel bands' centres, for
/// [`Heatmap::with_row_labels`].
pub fn frequency_labels(centres_hz: &[f64]) -> Vec<String> {
    centres_hz
        .iter()
        .map(|&hz| if hz >= 1000.0 { format!("{:.1} kHz", hz / 1000.0) } else { format!("{hz:.0} Hz") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
