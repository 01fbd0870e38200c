//! The latency plot of `wasmfn bench`: one cumulative distribution per kind
//! of invocation on a logarithmic time axis, so that cold, spare and warm
//! can be told apart at a glance.

use std::path::Path;

use plotters::prelude::*;

use super::series::Series;

/// Writes the plot to `path` as SVG.
pub fn latency_svg(path: &Path, function: &str, series: &[Series]) -> anyhow::Result<()> {
    let min = series
        .iter()
        .filter_map(|s| s.samples_us.first().copied())
        .fold(f64::INFINITY, f64::min)
        .max(0.1);
    let max = series
        .iter()
        .map(|s| s.max_us)
        .fold(0.0, f64::max)
        .max(min * 10.0);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{function}: invocation latency, cold vs spare vs warm"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d((min * 0.8..max * 1.25).log_scale(), 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (µs, log scale)")
        .y_desc("invocations at or below (%)")
        .draw()?;
    let colours = [RED, BLUE, GREEN, MAGENTA, CYAN];
    for (s, colour) in series.iter().zip(colours) {
        let n = s.samples_us.len().max(1) as f64;
        let points = s
            .samples_us
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, (i + 1) as f64 * 100.0 / n));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(format!("{} (p50 {:.1} µs)", s.kind, s.p50_us))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}
