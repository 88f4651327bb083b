//! Run statistics: frame counts and latency percentiles per stage and end to end.
//!
//! Latencies go into fixed log-spaced histograms, so a stream that runs for hours keeps
//! constant memory and percentiles stay within about 1% of the exact value.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// Buckets grow by this factor: 1% relative resolution.
const GROWTH: f64 = 1.01;
/// The smallest latency told apart, in microseconds.
const MIN_US: f64 = 1.0;
/// Enough buckets to reach about 10 minutes.
const BUCKETS: usize = 2100;

/// A stage's latency histogram, shared between the stage that records into it and whoever
/// reports it while the stage runs.
pub type StageClock = Arc<Mutex<LatencyHistogram>>;

/// A latency histogram with percentile queries.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    sum_us: f64,
    max_us: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            sum_us: 0.0,
            max_us: 0.0,
        }
    }
}

impl LatencyHistogram {
    pub fn record(&mut self, latency: Duration) {
        let us = latency.as_secs_f64() * 1e6;
        let bucket = if us <= MIN_US {
            0
        } else {
            ((us / MIN_US).ln() / GROWTH.ln()).ceil() as usize
        };
        self.counts[bucket.min(BUCKETS - 1)] += 1;
        self.total += 1;
        self.sum_us += us;
        self.max_us = self.max_us.max(us);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q`-quantile (0..=1) in milliseconds, reported as the bucket's upper edge.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let edge_us = MIN_US * GROWTH.powi(i as i32);
                return edge_us.min(self.max_us) / 1e3;
            }
        }
        self.max_us / 1e3
    }

    /// What was recorded after `earlier`, a copy of this histogram taken before (the
    /// maximum stays the overall one).
    pub fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let mut window = self.clone();
        for (a, b) in window.counts.iter_mut().zip(&earlier.counts) {
            *a = a.saturating_sub(*b);
        }
        window.total = self.total.saturating_sub(earlier.total);
        window.sum_us = (self.sum_us - earlier.sum_us).max(0.0);
        window
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.sum_us += other.sum_us;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.total,
            mean_ms: if self.total == 0 {
                0.0
            } else {
                self.sum_us / self.total as f64 / 1e3
            },
            p50_ms: self.quantile_ms(0.50),
            p95_ms: self.quantile_ms(0.95),
            p99_ms: self.quantile_ms(0.99),
            max_ms: self.max_us / 1e3,
        }
    }
}

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What `--stats FILE` writes: counts, throughput and latencies of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunStats {
    pub input: String,
    pub output: String,
    pub frames_in: u64,
    pub frames_out: u64,
    /// Live runs: frames dropped, the sum of `drops`.
    pub frames_dropped: u64,
    /// Drops by the stage that could not take the frame (`late`: over --max-latency-ms).
    pub drops: BTreeMap<String, u64>,
    pub frames_without_person: u64,
    pub wall_seconds: f64,
    /// Frames written per second.
    pub fps: f64,
    /// Frames read per second.
    pub fps_in: f64,
    /// Time each stage spent on a frame.
    pub stages: BTreeMap<String, LatencySummary>,
    /// From a frame's arrival in metapix (its capture, for live sources) to its hand-off to
    /// the encoder.
    pub end_to_end: LatencySummary,
    /// True when the run was stopped early (Ctrl-C or SIGTERM).
    pub interrupted: bool,
}

impl RunStats {
    /// Writes the JSON summary atomically (temporary file, then rename).
    pub fn write_json(&self, path: &std::path::Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::base::fsutil::write_atomic(path, json.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_one_percent() {
        let mut h = LatencyHistogram::default();
        for ms in 1..=1000 {
            h.record(Duration::from_micros(ms * 1000));
        }
        for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile_ms(q);
            assert!(
                (got - exact).abs() / exact < 0.011,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.summary().max_ms, 1000.0);
        assert!((h.summary().mean_ms - 500.5).abs() < 1e-9);
    }

    #[test]
    fn empty_and_merged() {
        let mut a = LatencyHistogram::default();
        assert_eq!(a.quantile_ms(0.5), 0.0);
        let mut b = LatencyHistogram::default();
        b.record(Duration::from_millis(3));
        a.record(Duration::from_millis(7));
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert!((a.quantile_ms(0.5) - 3.0).abs() < 0.04);
    }

    #[test]
    fn a_window_holds_what_came_after() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_millis(100));
        let earlier = h.clone();
        h.record(Duration::from_millis(5));
        let window = h.since(&earlier);
        assert_eq!(window.count(), 1);
        assert!((window.quantile_ms(0.99) - 5.0).abs() < 0.06);
    }
}
