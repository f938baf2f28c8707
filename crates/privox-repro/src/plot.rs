//! The one chart style of the SVG figures (Fig. 1, Fig. 2, the frontier).
//!
//! Every figure is drawn into a string and written atomically, so an
//! interrupted run never leaves a half-written SVG under OUT.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

use crate::report::write_text;
use crate::{ReproError, Result};

/// Series colours, in order (matplotlib's first six).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The drawing area of one figure.
pub type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
/// A chart with two real axes.
pub type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
/// What plotters' drawing calls return.
pub type Drawn<T = ()> = std::result::Result<T, DrawingAreaErrorKind<std::io::Error>>;

/// Renders a `width` × `height` figure with `draw` (on a white background)
/// and writes it to `path`.
pub fn write_svg(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Drawn,
) -> Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present());
        drawn.map_err(|e| ReproError::Plot {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
    }
    write_text(path, &svg)
}

/// The axes of one chart.
pub struct Axes<'s> {
    /// Title above the chart.
    pub caption: &'s str,
    /// Its font size.
    pub caption_size: u32,
    /// x range.
    pub x: Range<f64>,
    /// y range.
    pub y: Range<f64>,
    /// x axis label.
    pub x_desc: &'s str,
    /// y axis label.
    pub y_desc: &'s str,
}

/// A captioned chart on `area` with labelled axes and a mesh.
pub fn chart<'a, 'b>(area: &'a Area<'b>, axes: &Axes<'_>) -> Drawn<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(axes.caption, ("sans-serif", axes.caption_size))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(axes.x.clone(), axes.y.clone())?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .draw()?;
    Ok(chart)
}

/// Draws the legend of the labelled series at `position`.
pub fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
}

/// A legend key: a short line in `style`.
pub fn line_key(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style)
}
