//! The FRR / FA-per-hour plot (SVG): one line per (model, condition).

use super::EvalReport;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// False-accept rates below this are drawn at it (a log axis has no zero).
pub const FA_FLOOR: f64 = 0.01;

/// Writes the curves of `report` as an SVG file: x = false accepts per hour (log scale,
/// 0 drawn at [`FA_FLOOR`]), y = false-reject rate in percent.
pub fn write_plot_svg(report: &EvalReport, path: &Path) -> Result<()> {
    let fail = |e: String| Error::File {
        path: path.to_path_buf(),
        reason: format!("cannot draw the plot: {e}"),
    };
    let x_max = report
        .results
        .iter()
        .flat_map(|r| r.curve.iter().map(|p| p.fa_per_hour))
        .fold(1.0f64, f64::max)
        * 2.0;
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let caption = format!(
        "FRR vs false accepts/hour ({} positives, {:.2} h negative audio)",
        report.positives,
        report.negative_hours()
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((FA_FLOOR..x_max).log_scale(), 0.0f64..100.0)
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("false accepts per hour (log; 0 drawn at 0.01)")
        .y_desc("false-reject rate (%)")
        .draw()
        .map_err(|e| fail(e.to_string()))?;
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
            .map_err(|e| fail(e.to_string()))?
            .label(format!("{} [{}]", r.model, r.condition))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))?;
    Ok(())
}
