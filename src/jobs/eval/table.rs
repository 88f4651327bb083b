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

/// A figure of a record, as the table shows it.
struct Column {
    header: &'static str,
    value: fn(&EvalRecord) -> Option<f64>,
    /// Decimals of the mean and spread.
    decimals: usize,
    /// Shown as the mean ± the spread over people (else the mean alone).
    spread: bool,
    /// Counted in the wins (higher is better).
    wins: bool,
}

const COLUMNS: [Column; 7] = [
    Column {
        header: "PSNR dB",
        value: |r| Some(r.quality.psnr),
        decimals: 2,
        spread: true,
        wins: true,
    },
    Column {
        header: "SSIM",
        value: |r| Some(r.quality.ssim),
        decimals: 4,
        spread: true,
        wins: true,
    },
    Column {
        header: "person PSNR dB",
        value: |r| r.psnr_person,
        decimals: 2,
        spread: true,
        wins: true,
    },
    Column {
        header: "person SSIM",
        value: |r| r.ssim_person,
        decimals: 4,
        spread: true,
        wins: true,
    },
    Column {
        header: "TC gap",
        value: |r| Some((r.quality.temporal_std - r.quality.temporal_std_real).abs()),
        decimals: 4,
        spread: false,
        wins: false,
    },
    Column {
        header: "PCK@0.1",
        value: |r| r.pck,
        decimals: 3,
        spread: true,
        wins: false,
    },
    Column {
        header: "part IoU",
        value: |r| r.part_iou,
        decimals: 3,
        spread: true,
        wins: false,
    },
];

/// The Markdown table: one row per (K, T); per method the mean ± standard deviation over
/// people of PSNR and SSIM over the frame and inside the person's box (where the records
/// have them), the mean temporal-coherence gap (|generated - real| std of frame
/// intensity) and PCK; and on how many people the first method beats each other one in
/// each of PSNR, SSIM, person PSNR and person SSIM.
pub fn markdown(records: &[EvalRecord], inits: &[String]) -> String {
    let mut keys: Vec<(usize, usize)> = records.iter().map(|r| (r.k, r.t)).collect();
    keys.sort();
    keys.dedup();
    let shown: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| records.iter().any(|r| (c.value)(r).is_some()))
        .collect();
    let counted: Vec<&Column> = shown.iter().copied().filter(|c| c.wins).collect();
    let mut out = String::from("| K | T |");
    for name in inits {
        for c in &shown {
            let _ = write!(out, " {name} {} |", c.header);
        }
    }
    let what: Vec<&str> = counted
        .iter()
        .map(|c| c.header.trim_end_matches(" dB"))
        .collect();
    for name in inits.iter().skip(1) {
        let _ = write!(out, " {} wins vs {name} ({}) |", inits[0], what.join(", "));
    }
    let columns = 2 + shown.len() * inits.len() + inits.len().saturating_sub(1);
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
            for c in &shown {
                out.push_str(&cell(&rs, c));
            }
        }
        let first = of(&inits[0]);
        for name in inits.iter().skip(1) {
            out.push_str(&wins(&first, &of(name), &counted));
        }
        out.push('\n');
    }
    out
}

/// ` mean ± sd |` of `column` over `records`, or ` – |` where they have none (merged
/// results need not share every cell).
fn cell(records: &[&EvalRecord], column: &Column) -> String {
    let values: Vec<f64> = records.iter().filter_map(|r| (column.value)(r)).collect();
    if values.is_empty() {
        return " – |".into();
    }
    let (m, sd) = mean_std(&values);
    let d = column.decimals;
    if column.spread {
        format!(" {m:.d$} ± {sd:.d$} |")
    } else {
        format!(" {m:.d$} |")
    }
}

/// ` a/n, b/n, ... |`: on how many of the people both were scored on `first` is higher, per
/// counted column.
fn wins(first: &[&EvalRecord], other: &[&EvalRecord], counted: &[&Column]) -> String {
    let pairs: Vec<(&EvalRecord, &EvalRecord)> = first
        .iter()
        .filter_map(|a| {
            other
                .iter()
                .find(|b| b.target == a.target)
                .map(|b| (*a, *b))
        })
        .collect();
    if pairs.is_empty() {
        return " – |".into();
    }
    let n = pairs.len();
    let counts: Vec<String> = counted
        .iter()
        .map(|c| {
            let won = pairs
                .iter()
                .filter(|(a, b)| match ((c.value)(a), (c.value)(b)) {
                    (Some(x), Some(y)) => x > y,
                    _ => false,
                })
                .count();
            format!("{won}/{n}")
        })
        .collect();
    format!(" {} |", counts.join(", "))
}
