//! Progress on stderr for long jobs: a bar on a terminal, a plain line every few seconds
//! otherwise (logs, CI, through `tracing`), each with what is counted (frames, training
//! steps, meta-iterations, benchmark cells), the rate and the time left.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain-line form reports.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    label: String,
    /// What is counted, plural ("frames", "steps", "cells").
    unit: &'static str,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    quiet: bool,
}

impl Progress {
    /// Reports to stderr under `label`, counting `unit` (plural: "frames", "steps").
    pub fn new(label: &str, unit: &'static str) -> Self {
        let now = Instant::now();
        Self {
            label: label.to_string(),
            unit,
            total: None,
            bar: None,
            started: now,
            last_line: now,
            quiet: false,
        }
    }

    /// Reports nothing (tests, `--quiet`).
    pub fn hidden() -> Self {
        Self {
            quiet: true,
            ..Self::new("", "frames")
        }
    }

    /// Starts the display once the number of frames (if known) is.
    pub fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
        self.started = Instant::now();
        if self.quiet || !std::io::stderr().is_terminal() {
            return;
        }
        let unit = self.unit;
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"),
            ),
            None => (
                ProgressBar::new_spinner(),
                format!("{{prefix}} {{spinner}} {{pos}} {unit} {{per_sec}}"),
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(self.label.clone());
        self.bar = Some(bar);
    }

    /// `done` frames are finished.
    pub fn update(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if !self.quiet && self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            tracing::info!("{}", self.line(done));
        }
    }

    /// Clears the bar and prints the final count.
    pub fn finish(&mut self, done: u64) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            tracing::info!("{}", self.line(done));
        }
    }

    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let speed = match self.unit {
            "frames" => format!("{rate:.1} fps"),
            unit => format!("{rate:.2} {unit}/s"),
        };
        let unit = self.unit;
        match self.total {
            Some(total) if rate > 0.0 && total > done => format!(
                "{}: {done}/{total} {unit}, {speed}, eta {:.0} s",
                self.label,
                (total - done) as f64 / rate
            ),
            Some(total) => format!("{}: {done}/{total} {unit}, {speed}", self.label),
            None => format!("{}: {done} {unit}, {speed}", self.label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_what_the_job_counts() {
        let mut p = Progress::new("metapix pretrain", "steps");
        p.quiet = true;
        p.set_total(Some(2000));
        let line = p.line(500);
        assert!(
            line.starts_with("metapix pretrain: 500/2000 steps, "),
            "{line}"
        );
        assert!(line.contains(" steps/s") && !line.contains("fps"), "{line}");
        let mut p = Progress::new("metapix-stream", "frames");
        p.quiet = true;
        p.set_total(None);
        assert!(p.line(30).contains(" frames, ") && p.line(30).ends_with("fps"));
    }
}
