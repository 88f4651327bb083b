//! Temporal smoothing of landmarks: the One-Euro filter in MediaPipe's form.
//!
//! MediaPipe's variant (util/filtering/one_euro_filter.cc, LandmarksSmoothingCalculator)
//! differs from the paper in ways that change results, so they are kept:
//! * the sampling frequency comes from the timestamps (30 Hz until two samples are seen);
//!   a timestamp that does not advance returns the value unfiltered and leaves the state;
//! * the derivative is taken on the raw values and multiplied by a value scale, 1 / object
//!   scale, so `beta` means the same for near and far people;
//! * the low-pass state is kept in f32, the arithmetic around it in f64;
//! * an object scale below 1e-6 passes the landmarks through untouched.

use std::time::Duration;

use crate::base::skeleton::Landmark;

/// Parameters of one One-Euro filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneEuroParams {
    /// Cutoff frequency (Hz) at rest; lower = smoother and laggier when still.
    pub min_cutoff: f64,
    /// How fast the cutoff rises with speed (per unit of scaled speed); higher = less lag.
    pub beta: f64,
    /// Cutoff frequency (Hz) of the speed estimate.
    pub derivate_cutoff: f64,
}

impl OneEuroParams {
    /// MediaPipe's filter on the auxiliary landmarks that place the next tracking ROI
    /// (pose_landmark_filtering, always on).
    pub const MEDIAPIPE_ROI: Self = Self {
        min_cutoff: 0.01,
        beta: 10.0,
        derivate_cutoff: 1.0,
    };
    /// MediaPipe's filter on the 33 output landmarks when `smooth_landmarks` is on.
    pub const MEDIAPIPE_LANDMARKS: Self = Self {
        min_cutoff: 0.05,
        beta: 80.0,
        derivate_cutoff: 1.0,
    };
}

/// Frequency assumed before two timestamps have been seen (MediaPipe's option default).
const DEFAULT_FREQUENCY: f64 = 30.0;
/// Below this object scale MediaPipe does not filter at all.
const MIN_OBJECT_SCALE: f32 = 1e-6;

/// MediaPipe's LowPassFilter: exponential smoothing that remembers the last raw input.
#[derive(Debug, Clone, Copy, Default)]
struct LowPass {
    state: Option<(f32, f32)>, // (last raw value, last smoothed value)
}

impl LowPass {
    fn apply(&mut self, value: f32, alpha: f32) -> f32 {
        let smoothed = match self.state {
            Some((_, prev)) => {
                // float product, double sum: MediaPipe's mixed precision.
                (f64::from(alpha * value) + (1.0 - f64::from(alpha)) * f64::from(prev)) as f32
            }
            None => value,
        };
        self.state = Some((value, smoothed));
        smoothed
    }

    fn last_raw(&self) -> Option<f32> {
        self.state.map(|(raw, _)| raw)
    }
}

/// One One-Euro filter over a scalar signal.
#[derive(Debug, Clone)]
pub struct OneEuroFilter {
    params: OneEuroParams,
    frequency: f64,
    last_time_ns: i64,
    x: LowPass,
    dx: LowPass,
}

impl OneEuroFilter {
    pub fn new(params: OneEuroParams) -> Self {
        Self {
            params,
            frequency: DEFAULT_FREQUENCY,
            last_time_ns: 0,
            x: LowPass::default(),
            dx: LowPass::default(),
        }
    }

    /// Filters `value` observed at `timestamp`; `value_scale` multiplies the speed estimate
    /// (1 / object scale for landmarks, 1 for plain signals).
    pub fn apply(&mut self, timestamp: Duration, value_scale: f64, value: f64) -> f64 {
        let now = i64::try_from(timestamp.as_nanos()).unwrap_or(i64::MAX);
        if self.last_time_ns >= now {
            return value;
        }
        if self.last_time_ns != 0 && now != 0 {
            self.frequency = 1.0 / ((now - self.last_time_ns) as f64 * 1e-9);
        }
        self.last_time_ns = now;
        let speed = match self.x.last_raw() {
            Some(raw) => (value - f64::from(raw)) * value_scale * self.frequency,
            None => 0.0,
        };
        let smoothed_speed = self
            .dx
            .apply(speed as f32, self.alpha(self.params.derivate_cutoff));
        let cutoff = self.params.min_cutoff + self.params.beta * f64::from(smoothed_speed).abs();
        f64::from(self.x.apply(value as f32, self.alpha(cutoff)))
    }

    fn alpha(&self, cutoff: f64) -> f32 {
        let te = 1.0 / self.frequency;
        let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff);
        (1.0 / (1.0 + tau / te)) as f32
    }
}

/// One-Euro filters on x, y and z of a fixed number of landmarks, in pixels, as MediaPipe's
/// LandmarksSmoothingCalculator; optionally the visibility low-pass MediaPipe pairs with it.
#[derive(Debug, Clone)]
pub struct LandmarkSmoother {
    params: OneEuroParams,
    visibility_alpha: Option<f32>,
    filters: Vec<[OneEuroFilter; 3]>,
    visibility: Vec<LowPass>,
}

impl LandmarkSmoother {
    /// Coordinates only.
    pub fn new(params: OneEuroParams) -> Self {
        Self {
            params,
            visibility_alpha: None,
            filters: Vec::new(),
            visibility: Vec::new(),
        }
    }

    /// Also low-passes visibility with this alpha (MediaPipe uses 0.1).
    pub fn with_visibility(mut self, alpha: f32) -> Self {
        self.visibility_alpha = Some(alpha);
        self
    }

    /// Forgets all history (MediaPipe does this on every frame without a pose).
    pub fn reset(&mut self) {
        self.filters.clear();
        self.visibility.clear();
    }

    /// Smooths `landmarks` in place. `object_scale` is the person's size in pixels (MediaPipe's
    /// pose graph uses the auxiliary alignment box, [`crate::pose::roi::alignment_box_size`]).
    pub fn apply(&mut self, landmarks: &mut [Landmark], object_scale: f32, timestamp: Duration) {
        if self.filters.len() != landmarks.len() {
            self.filters =
                vec![std::array::from_fn(|_| OneEuroFilter::new(self.params)); landmarks.len()];
            self.visibility = vec![LowPass::default(); landmarks.len()];
        }
        if let Some(alpha) = self.visibility_alpha {
            for (lm, filter) in landmarks.iter_mut().zip(&mut self.visibility) {
                lm.visibility = filter.apply(lm.visibility, alpha);
            }
        }
        if object_scale < MIN_OBJECT_SCALE {
            return;
        }
        let scale = 1.0 / f64::from(object_scale);
        for (lm, [fx, fy, fz]) in landmarks.iter_mut().zip(&mut self.filters) {
            lm.x = fx.apply(timestamp, scale, lm.x.into()) as f32;
            lm.y = fy.apply(timestamp, scale, lm.y.into()) as f32;
            lm.z = fz.apply(timestamp, scale, lm.z.into()) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_micros(33_333);

    fn run(params: OneEuroParams, scale: f64, values: &[f64]) -> Vec<f64> {
        let mut f = OneEuroFilter::new(params);
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| f.apply(FRAME * (i as u32 + 1), scale, v))
            .collect()
    }

    #[test]
    fn constant_signal_passes_unchanged() {
        let out = run(OneEuroParams::MEDIAPIPE_ROI, 0.01, &[42.5; 20]);
        assert!(out.iter().all(|&v| (v - 42.5).abs() < 1e-5), "{out:?}");
    }

    #[test]
    fn step_is_smoothed_then_converges() {
        let mut input = vec![0.0; 5];
        input.extend(std::iter::repeat_n(100.0, 60));
        let params = OneEuroParams {
            min_cutoff: 1.0,
            beta: 0.0,
            derivate_cutoff: 1.0,
        };
        let out = run(params, 1.0, &input);
        // With beta 0 it is a plain low-pass at 1 Hz sampled at 30 Hz.
        let alpha = 1.0 / (1.0 + 30.0 / (2.0 * std::f64::consts::PI));
        assert!(
            (out[5] - 100.0 * alpha).abs() < 1e-3,
            "first step sample {}",
            out[5]
        );
        assert!(out.windows(2).all(|w| w[1] >= w[0]), "monotone {out:?}");
        assert!(out[64] > 99.0 && out[64] <= 100.0, "converged {}", out[64]);
    }

    #[test]
    fn speed_raises_the_cutoff() {
        // Same step, with beta: the filter follows a fast move much more closely.
        let mut input = vec![0.0; 5];
        input.extend(std::iter::repeat_n(100.0, 5));
        let slow = run(
            OneEuroParams {
                beta: 0.0,
                ..OneEuroParams::MEDIAPIPE_LANDMARKS
            },
            0.01,
            &input,
        );
        let fast = run(OneEuroParams::MEDIAPIPE_LANDMARKS, 0.01, &input);
        assert!(fast[5] > 5.0 * slow[5], "fast {} slow {}", fast[5], slow[5]);
    }

    #[test]
    fn stale_timestamp_returns_the_input() {
        let mut f = OneEuroFilter::new(OneEuroParams::MEDIAPIPE_ROI);
        assert_eq!(f.apply(FRAME, 1.0, 1.0), 1.0);
        assert_eq!(f.apply(FRAME, 1.0, 50.0), 50.0);
        // The state still holds the first sample: the next one is smoothed towards it.
        let v = f.apply(FRAME * 2, 1.0, 2.0);
        assert!(v < 2.0 && v > 1.0, "{v}");
    }

    #[test]
    fn smoother_resets_and_filters_visibility() {
        let mut s = LandmarkSmoother::new(OneEuroParams::MEDIAPIPE_ROI).with_visibility(0.1);
        let lm = |x: f32, vis: f32| Landmark {
            x,
            y: 0.0,
            z: 0.0,
            visibility: vis,
            presence: 1.0,
        };
        let mut a = [lm(10.0, 1.0)];
        s.apply(&mut a, 100.0, FRAME);
        assert_eq!(a[0], lm(10.0, 1.0));
        let mut b = [lm(20.0, 0.0)];
        s.apply(&mut b, 100.0, FRAME * 2);
        assert!(b[0].x > 10.0 && b[0].x < 20.0);
        assert!((b[0].visibility - 0.9).abs() < 1e-6);
        s.reset();
        let mut c = [lm(30.0, 0.5)];
        s.apply(&mut c, 100.0, FRAME * 3);
        assert_eq!(c[0], lm(30.0, 0.5));
        // A degenerate object scale skips coordinate filtering.
        let mut d = [lm(90.0, 0.5)];
        s.apply(&mut d, 0.0, FRAME * 4);
        assert_eq!(d[0].x, 90.0);
    }
}
