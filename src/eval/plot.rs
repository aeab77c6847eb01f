//! The FRR / FA-per-hour plot, as SVG or PNG: one line per (model, condition).
//!
//! PNG text needs a font rasterizer; the DejaVu Sans face is compiled in (crate `dejavu`), so a
//! plot renders the same on a headless machine without system fonts.

use super::EvalReport;
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// False-accept rates below this are drawn at it (a log axis has no zero).
pub const FA_FLOOR: f64 = 0.01;

/// Plot size in pixels (SVG user units).
const SIZE: (u32, u32) = (900, 600);

/// Writes the curves of `report` to `path`, as SVG or PNG by its extension: x = false accepts
/// per hour (log scale, 0 drawn at [`FA_FLOOR`]), y = false-reject rate in percent (scaled to
/// the data). Each curve's default threshold is marked with a circle, and rates below one
/// false accept in the negative audio (not measurable) are shaded.
pub fn write_plot(report: &EvalReport, path: &Path) -> Result<()> {
    let fail = |e: String| Error::File {
        path: path.to_path_buf(),
        reason: format!("cannot draw the plot: {e}"),
    };
    register_font().map_err(fail)?;
    match plot_format(path) {
        Some(PlotFormat::Svg) => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            draw(report, &root).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Some(PlotFormat::Png) => {
            let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
                draw(report, &root).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            write_png(path, &rgb).map_err(fail)
        }
        None => Err(fail(
            "unknown plot format: use a .svg or .png file name".into(),
        )),
    }
}

/// The plot formats [`write_plot`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    Svg,
    Png,
}

/// The format a plot path asks for (by extension, case-insensitive), if it is one we write.
pub fn plot_format(path: &Path) -> Option<PlotFormat> {
    let ext = path.extension()?.to_str()?;
    if ext.eq_ignore_ascii_case("svg") {
        Some(PlotFormat::Svg)
    } else if ext.eq_ignore_ascii_case("png") {
        Some(PlotFormat::Png)
    } else {
        None
    }
}

fn register_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the built-in DejaVu Sans font is unreadable".to_string())
        })
        .clone()
}

fn write_png(path: &Path, rgb: &[u8]) -> std::result::Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

fn draw<DB: DrawingBackend>(
    report: &EvalReport,
    root: &DrawingArea<DB, Shift>,
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let x_max = report
        .results
        .iter()
        .flat_map(|r| r.curve.iter().map(|p| p.fa_per_hour))
        .fold(1.0f64, f64::max)
        * 2.0;
    // FRR axis to the data (with room above), not always 0-100 %.
    let frr_max = report
        .results
        .iter()
        .flat_map(|r| r.curve.iter().map(|p| p.frr * 100.0))
        .fold(0.0f64, f64::max);
    let y_max = ((frr_max * 1.1 / 5.0).ceil() * 5.0).clamp(5.0, 100.0);
    // One false accept in the negative audio: rates below it are not measured.
    let resolution = 1.0 / report.negative_hours().max(f64::MIN_POSITIVE);
    root.fill(&WHITE).map_err(err)?;
    let caption = format!(
        "FRR vs false accepts/hour ({} positives, {:.2} h negative audio)",
        report.positives,
        report.negative_hours()
    );
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((FA_FLOOR..x_max).log_scale(), 0.0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("false accepts per hour (log; 0 drawn at 0.01)")
        .y_desc("false-reject rate (%)")
        .draw()
        .map_err(err)?;
    if resolution > FA_FLOOR {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(FA_FLOOR, 0.0), (resolution.min(x_max), y_max)],
                BLACK.mix(0.08).filled(),
            )))
            .map_err(err)?
            .label(format!(
                "not measurable: below 1 false accept in {:.2} h ({resolution:.2}/h)",
                report.negative_hours()
            ))
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLACK.mix(0.08).filled())
            });
    }
    for (i, r) in report.results.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut points: Vec<(f64, f64)> = r
            .curve
            .iter()
            .map(|p| (p.fa_per_hour.max(FA_FLOOR), p.frr * 100.0))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(err)?
            .label(format!("{} [{}]", r.model, r.condition))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        let d = &r.at_default;
        chart
            .draw_series(std::iter::once(Circle::new(
                (d.fa_per_hour.max(FA_FLOOR), d.frr * 100.0),
                6,
                color.stroke_width(2),
            )))
            .map_err(err)?;
    }
    if let Some(r) = report.results.first() {
        // One legend entry for the markers, drawn in the first line's colour.
        let color = Palette99::pick(0).to_rgba();
        let d = &r.at_default;
        chart
            .draw_series(std::iter::once(Circle::new(
                (d.fa_per_hour.max(FA_FLOOR), d.frr * 100.0),
                6,
                color.stroke_width(2),
            )))
            .map_err(err)?
            .label("default threshold")
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}
