//! Heatmaps over a time axis with labelled axes and a colour bar, drawn in a grid of
//! panels to a PNG file or to bytes.

use std::path::{Path, PathBuf};

use image::ImageEncoder;
use plotters::prelude::*;

use crate::{FigureError, Palette, register_font};

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
pub(crate) fn format_tick(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        return "0".into(); // a zero that rounding left as 1e-17
    }
    if a != 0.0 && !(1e-2..1e4).contains(&a) { format!("{v:.1e}") } else { format!("{v:.2}") }
}

/// Frequencies as row labels (`"440 Hz"`, `"2.5 kHz"`), e.g. mel bands' centres, for
/// [`Heatmap::with_row_labels`].
pub fn frequency_labels(centres_hz: &[f64]) -> Vec<String> {
    centres_hz
        .iter()
        .map(|&hz| if hz >= 1000.0 { format!("{:.1} kHz", hz / 1000.0) } else { format!("{hz:.0} Hz") })
        .collect()
}
