//! The once-a-second line `--verbose` prints (through `tracing`): rates, drops and latency
//! percentiles over the last second, per stage and end to end.

use std::time::{Duration, Instant};

use crate::base::stats::{LatencyHistogram, StageClock};

const PERIOD: Duration = Duration::from_secs(1);
const STAGES: [&str; 3] = ["pose", "generate", "render"];

/// Remembers where the counters stood at the last line.
pub struct Meter {
    /// What each line starts with.
    label: String,
    clocks: Vec<StageClock>,
    last: Instant,
    frames_in: u64,
    frames_out: u64,
    dropped: u64,
    stages: Vec<LatencyHistogram>,
    sink: LatencyHistogram,
    end_to_end: LatencyHistogram,
}

impl Meter {
    /// A meter over the pose, generate and render clocks (in that order), its lines
    /// starting with `label`.
    pub fn new(label: String, clocks: &[StageClock; 3]) -> Self {
        Self {
            label,
            clocks: clocks.to_vec(),
            last: Instant::now(),
            frames_in: 0,
            frames_out: 0,
            dropped: 0,
            stages: vec![LatencyHistogram::default(); 3],
            sink: LatencyHistogram::default(),
            end_to_end: LatencyHistogram::default(),
        }
    }

    /// Prints a line when a second has passed since the last one.
    pub fn tick(
        &mut self,
        frames_in: u64,
        frames_out: u64,
        dropped: u64,
        end_to_end: &LatencyHistogram,
        sink: &LatencyHistogram,
    ) {
        let elapsed = self.last.elapsed();
        if elapsed < PERIOD {
            return;
        }
        let secs = elapsed.as_secs_f64();
        let mut line = format!(
            "{}: in {:.1} fps, out {:.1} fps, dropped {}",
            self.label,
            (frames_in - self.frames_in) as f64 / secs,
            (frames_out - self.frames_out) as f64 / secs,
            dropped - self.dropped,
        );
        for (i, name) in STAGES.iter().enumerate() {
            let now = self.clocks[i].lock().expect("stage clock").clone();
            line += &percentiles(name, &now.since(&self.stages[i]));
            self.stages[i] = now;
        }
        line += &percentiles("encode", &sink.since(&self.sink));
        line += &percentiles("end-to-end", &end_to_end.since(&self.end_to_end));
        tracing::info!("{line}");
        self.last = Instant::now();
        (self.frames_in, self.frames_out, self.dropped) = (frames_in, frames_out, dropped);
        self.sink = sink.clone();
        self.end_to_end = end_to_end.clone();
    }
}

/// ` | NAME p50/p95/p99 A/B/C ms`, or nothing for a stage that saw no frame.
fn percentiles(name: &str, h: &LatencyHistogram) -> String {
    if h.count() == 0 {
        return String::new();
    }
    format!(
        " | {name} p50/p95/p99 {:.1}/{:.1}/{:.1} ms",
        h.quantile_ms(0.5),
        h.quantile_ms(0.95),
        h.quantile_ms(0.99)
    )
}
