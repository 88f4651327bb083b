//! Progress on stderr for long jobs: a bar on a terminal, a plain line every few seconds
//! otherwise (logs, CI), each with frames, rate and time left.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain-line form reports.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    label: String,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    quiet: bool,
}

impl Progress {
    /// Reports to stderr under `label`.
    pub fn new(label: &str) -> Self {
        let now = Instant::now();
        Self {
            label: label.to_string(),
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
            ..Self::new("")
        }
    }

    /// Starts the display once the number of frames (if known) is.
    pub fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
        self.started = Instant::now();
        if self.quiet || !std::io::stderr().is_terminal() {
            return;
        }
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                "{prefix} [{bar:30}] {pos}/{len} frames {per_sec} eta {eta}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{prefix} {spinner} {pos} frames {per_sec}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
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
            eprintln!("{}", self.line(done));
        }
    }

    /// Clears the bar and prints the final count.
    pub fn finish(&mut self, done: u64) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            eprintln!("{}", self.line(done));
        }
    }

    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let fps = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        match self.total {
            Some(total) if fps > 0.0 && total > done => format!(
                "{}: {done}/{total} frames, {fps:.1} fps, eta {:.0} s",
                self.label,
                (total - done) as f64 / fps
            ),
            Some(total) => format!("{}: {done}/{total} frames, {fps:.1} fps", self.label),
            None => format!("{}: {done} frames, {fps:.1} fps", self.label),
        }
    }
}
