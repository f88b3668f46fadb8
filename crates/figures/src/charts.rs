//! Line charts (curves such as deletion or reliability), side by side in one PNG.

use std::path::Path;

use plotters::prelude::*;

use crate::{FigureError, register_font};

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
