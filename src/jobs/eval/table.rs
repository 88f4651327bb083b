//! The benchmark's outputs: the Markdown table of means, spreads and wins over people, and
//! the JSON, table and plots written together at the end of a run (or by `metapix report`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{plot, EvalRecord};
use crate::jobs::JobError;

/// What [`write_outputs`] wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    /// The table, for printing.
    pub table: String,
    /// Why there are no plots (a missing font costs the plots, not the run).
    pub plots_failed: Option<String>,
}

/// Writes `json` (every record, unless None), the Markdown table at `table` and the plots
/// `<stem>-t.png` and `<stem>-k.png`, `inits` in that order (the first is the one whose wins
/// are counted).
pub fn write_outputs(
    records: &[EvalRecord],
    inits: &[String],
    json: Option<&Path>,
    table: &Path,
    stem: &Path,
) -> Result<Written, JobError> {
    let mut written = Written::default();
    if let Some(path) = json {
        let bytes = serde_json::to_vec_pretty(records).expect("records serialize");
        crate::base::fsutil::write_atomic(path, &bytes).map_err(JobError::write(path))?;
        written.files.push(path.to_path_buf());
    }
    written.table = markdown(records, inits);
    crate::base::fsutil::write_atomic(table, written.table.as_bytes())
        .map_err(JobError::write(table))?;
    written.files.push(table.to_path_buf());
    match plot::write_plots(records, inits, stem) {
        Ok(paths) => written.files.extend(paths),
        Err(e) => written.plots_failed = Some(e.to_string()),
    }
    Ok(written)
}

/// The inits of `records` in the order they first appear.
pub fn init_order(records: &[EvalRecord]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in records {
        if !names.contains(&r.init) {
            names.push(r.init.clone());
        }
    }
    names
}

pub(super) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The Markdown table: one row per (K, T), per init the mean ± standard deviation over people
/// of PSNR and SSIM and the mean temporal-coherence gap (|generated - real| std of frame
/// intensity), and on how many people the first init beats each other one.
pub fn markdown(records: &[EvalRecord], inits: &[String]) -> String {
    let mut keys: Vec<(usize, usize)> = records.iter().map(|r| (r.k, r.t)).collect();
    keys.sort();
    keys.dedup();
    let with_pck = records.iter().any(|r| r.pck.is_some());
    let per_init = if with_pck { 4 } else { 3 };
    let mut out = String::from("| K | T |");
    for name in inits {
        let _ = write!(out, " {name} PSNR dB | {name} SSIM | {name} TC gap |");
        if with_pck {
            let _ = write!(out, " {name} PCK@0.1 |");
        }
    }
    for name in inits.iter().skip(1) {
        let _ = write!(out, " {} wins vs {name} (PSNR, SSIM) |", inits[0]);
    }
    let columns = 2 + per_init * inits.len() + inits.len().saturating_sub(1);
    out.push_str(&format!("\n|{}\n", "---|".repeat(columns)));
    for (k, t) in keys {
        let of = |init: &str| -> Vec<&EvalRecord> {
            records
                .iter()
                .filter(|r| r.k == k && r.t == t && r.init == init)
                .collect()
        };
        let _ = write!(out, "| {k} | {t} |");
        for name in inits {
            let rs = of(name);
            if rs.is_empty() {
                // Merged results need not share every cell.
                out.push_str(&" – |".repeat(per_init));
                continue;
            }
            let (p, ps) = mean_std(&rs.iter().map(|r| r.quality.psnr).collect::<Vec<_>>());
            let (s, ss) = mean_std(&rs.iter().map(|r| r.quality.ssim).collect::<Vec<_>>());
            let gaps: Vec<f64> = rs
                .iter()
                .map(|r| (r.quality.temporal_std - r.quality.temporal_std_real).abs())
                .collect();
            let (tc, _) = mean_std(&gaps);
            let _ = write!(out, " {p:.2} ± {ps:.2} | {s:.4} ± {ss:.4} | {tc:.4} |");
            if with_pck {
                let pcks: Vec<f64> = rs.iter().filter_map(|r| r.pck).collect();
                if pcks.is_empty() {
                    out.push_str(" – |");
                } else {
                    let (m, sd) = mean_std(&pcks);
                    let _ = write!(out, " {m:.3} ± {sd:.3} |");
                }
            }
        }
        let first = of(&inits[0]);
        for name in inits.iter().skip(1) {
            let other = of(name);
            let (mut wp, mut ws, mut n) = (0, 0, 0);
            for a in &first {
                if let Some(b) = other.iter().find(|b| b.target == a.target) {
                    n += 1;
                    wp += usize::from(a.quality.psnr > b.quality.psnr);
                    ws += usize::from(a.quality.ssim > b.quality.ssim);
                }
            }
            if n == 0 {
                out.push_str(" – |");
            } else {
                let _ = write!(out, " {wp}/{n}, {ws}/{n} |");
            }
        }
        out.push('\n');
    }
    out
}
