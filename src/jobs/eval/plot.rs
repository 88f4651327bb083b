//! PNG plots of an eval, as issue 4 asks: quality against T per initialization (at one K)
//! and against K (at one T), PSNR and SSIM side by side, each point the mean over people
//! with a bar of one standard deviation either way.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

use super::{mean_std, EvalRecord};
use crate::jobs::JobError;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 480;
/// Where Debian's fonts-dejavu-core puts the face the labels are drawn with
/// (`METAPIX_FONT` names another).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Which axis a plot sweeps, and the value the other one is held at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sweep {
    /// T varies, K is fixed.
    Steps { k: usize },
    /// K varies, T is fixed.
    Shots { t: usize },
}

impl Sweep {
    fn x(&self, r: &EvalRecord) -> Option<usize> {
        match *self {
            Sweep::Steps { k } => (r.k == k).then_some(r.t),
            Sweep::Shots { t } => (r.t == t).then_some(r.k),
        }
    }

    fn caption(&self, metric: &str) -> String {
        match self {
            Sweep::Steps { k } => format!("{metric} against T (K = {k})"),
            Sweep::Shots { t } => format!("{metric} against K (T = {t})"),
        }
    }

    fn x_label(&self) -> &'static str {
        match self {
            Sweep::Steps { .. } => "T (personalization steps)",
            Sweep::Shots { .. } => "K (frames of the person)",
        }
    }
}

/// Writes `<stem>-t.png` (quality against T) and `<stem>-k.png` (against K) where the
/// records sweep that axis over at least two values; returns the files written.
pub fn write_plots(
    records: &[EvalRecord],
    inits: &[String],
    stem: &Path,
) -> Result<Vec<PathBuf>, JobError> {
    let mut written = Vec::new();
    let sweeps = [
        (
            "t",
            best_fixed(records, |r| r.k, |r| r.t, 5).map(|k| Sweep::Steps { k }),
        ),
        (
            "k",
            best_fixed(records, |r| r.t, |r| r.k, 20).map(|t| Sweep::Shots { t }),
        ),
    ];
    for (suffix, sweep) in sweeps {
        let Some(sweep) = sweep else { continue };
        let path = PathBuf::from(format!("{}-{suffix}.png", stem.display()));
        draw(records, inits, sweep, &path).map_err(|reason| JobError::Plot {
            path: path.clone(),
            reason,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// The value of `fixed` under which `swept` takes the most values (at least two), the
/// `preferred` one on ties; None when nothing is swept.
fn best_fixed(
    records: &[EvalRecord],
    fixed: impl Fn(&EvalRecord) -> usize,
    swept: impl Fn(&EvalRecord) -> usize,
    preferred: usize,
) -> Option<usize> {
    let mut values: Vec<usize> = records.iter().map(&fixed).collect();
    values.sort_unstable();
    values.dedup();
    values
        .into_iter()
        .map(|v| {
            let mut xs: Vec<usize> = records
                .iter()
                .filter(|r| fixed(r) == v)
                .map(&swept)
                .collect();
            xs.sort_unstable();
            xs.dedup();
            (xs.len(), v == preferred, v)
        })
        .filter(|&(n, _, _)| n >= 2)
        .max()
        .map(|(_, _, v)| v)
}

/// (x, mean, standard deviation) over people, in x order.
type Series = Vec<(f64, f64, f64)>;

/// One panel's figure.
struct Metric {
    name: &'static str,
    unit: &'static str,
    value: fn(&EvalRecord) -> f64,
}

const METRICS: [Metric; 2] = [
    Metric {
        name: "PSNR",
        unit: "PSNR (dB)",
        value: |r| r.quality.psnr,
    },
    Metric {
        name: "SSIM",
        unit: "SSIM",
        value: |r| r.quality.ssim,
    },
];

/// `metric` of `init` over people at each value of the swept axis.
fn series(
    records: &[EvalRecord],
    init: &str,
    sweep: Sweep,
    metric: fn(&EvalRecord) -> f64,
) -> Series {
    let mut xs: Vec<usize> = records
        .iter()
        .filter(|r| r.init == init)
        .filter_map(|r| sweep.x(r))
        .collect();
    xs.sort_unstable();
    xs.dedup();
    xs.into_iter()
        .map(|x| {
            let values: Vec<f64> = records
                .iter()
                .filter(|r| r.init == init && sweep.x(r) == Some(x))
                .map(metric)
                .collect();
            let (mean, std) = mean_std(&values);
            (x as f64, mean, std)
        })
        .collect()
}

/// Registers the label font once; plotters draws no text without one.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let path = std::env::var("METAPIX_FONT").unwrap_or_else(|_| FONT.to_string());
            let bytes = std::fs::read(&path).map_err(|e| {
                format!("no font at {path} ({e}); install fonts-dejavu-core or set METAPIX_FONT")
            })?;
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes.leak())
                .map_err(|_| format!("{path} is not a font plotters can read"))
        })
        .clone()
}

fn draw(records: &[EvalRecord], inits: &[String], sweep: Sweep, path: &Path) -> Result<(), String> {
    register_font()?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(WIDTH / 2);
        for (area, metric) in [left, right].into_iter().zip(&METRICS) {
            let lines: Vec<(&String, Series)> = inits
                .iter()
                .map(|init| (init, series(records, init, sweep, metric.value)))
                .collect();
            let points = lines.iter().flat_map(|(_, s)| s.iter());
            let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for &(x, m, s) in points {
                (x0, x1) = (x0.min(x), x1.max(x));
                (y0, y1) = (y0.min(m - s), y1.max(m + s));
            }
            let pad = ((y1 - y0) * 0.05).max(1e-3);
            let mut chart = ChartBuilder::on(&area)
                .caption(sweep.caption(metric.name), ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc(sweep.x_label())
                .y_desc(metric.unit)
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, (init, points)) in lines.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|&(x, m, _)| (x, m)),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?
                    .label(init.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(points.iter().map(|&(x, m, s)| {
                        PathElement::new(vec![(x, m - s), (x, m + s)], color.stroke_width(1))
                    }))
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&(x, m, _)| Circle::new((x, m), 3, color.filled())),
                    )
                    .map_err(|e| e.to_string())?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    let image = image::RgbImage::from_raw(WIDTH, HEIGHT, pixels)
        .ok_or_else(|| "the plot buffer has the wrong size".to_string())?;
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    crate::base::fsutil::write_atomic(path, &png).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::metrics::Quality;

    fn record(target: &str, init: &str, k: usize, t: usize, psnr: f64) -> EvalRecord {
        EvalRecord {
            target: target.into(),
            init: init.into(),
            k,
            t,
            quality: Quality {
                mse: 0.0,
                psnr,
                ssim: psnr / 40.0,
                temporal_std: 0.0,
                temporal_std_real: 0.0,
            },
            psnr_person: None,
            ssim_person: None,
            pck: None,
            part_iou: None,
        }
    }

    /// Two inits over T at K 5 and over K at T 20, three people each.
    fn sweep() -> Vec<EvalRecord> {
        let mut records = Vec::new();
        for (i, init) in ["metapix", "pretrained"].iter().enumerate() {
            for p in 0..3 {
                let person = format!("person-{p}");
                for t in [0, 10, 20, 50] {
                    let psnr = 10.0 + t as f64 / 5.0 - i as f64 + p as f64 * 0.5;
                    records.push(record(&person, init, 5, t, psnr));
                }
                for k in [1, 3, 10] {
                    records.push(record(&person, init, k, 20, 12.0 + k as f64 - i as f64));
                }
            }
        }
        records
    }

    #[test]
    fn the_swept_axis_is_found() {
        let records = sweep();
        assert_eq!(best_fixed(&records, |r| r.k, |r| r.t, 5), Some(5));
        assert_eq!(best_fixed(&records, |r| r.t, |r| r.k, 20), Some(20));
        // One K and one T: nothing to plot against.
        let single: Vec<EvalRecord> = records
            .into_iter()
            .filter(|r| r.k == 5 && r.t == 20)
            .collect();
        assert_eq!(best_fixed(&single, |r| r.k, |r| r.t, 5), None);
        assert_eq!(best_fixed(&single, |r| r.t, |r| r.k, 20), None);
    }

    #[test]
    fn plots_draw_every_init_in_its_colour() {
        let dir = tempfile::tempdir().unwrap();
        let inits = vec!["metapix".to_string(), "pretrained".to_string()];
        let written = write_plots(&sweep(), &inits, &dir.path().join("eval")).unwrap();
        assert_eq!(
            written,
            [dir.path().join("eval-t.png"), dir.path().join("eval-k.png")]
        );
        for path in written {
            let image = image::open(&path).unwrap().to_rgb8();
            assert_eq!(image.dimensions(), (WIDTH, HEIGHT));
            for (i, name) in inits.iter().enumerate() {
                let c = Palette99::pick(i).to_rgba();
                let colour = image::Rgb([c.0, c.1, c.2]);
                // Lines in both panels: pixels of the init's colour left and right of the middle.
                let mut sides = [0usize; 2];
                for (x, _, p) in image.enumerate_pixels() {
                    if *p == colour {
                        sides[usize::from(x >= WIDTH / 2)] += 1;
                    }
                }
                assert!(
                    sides.iter().all(|&n| n > 50),
                    "{}: {name} drawn with {sides:?} pixels in the two panels",
                    path.display()
                );
            }
        }
    }
}
