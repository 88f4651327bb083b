//! Dance motion as a pure function of time: joint angles as sums of a few sines.
//!
//! Frequencies are irrational multiples of a beat, so the dance never repeats exactly but
//! stays smooth; each angle's amplitudes sum to at most half its allowed range, so limbs
//! stay in anatomically plausible ranges without any clamping.

use std::f32::consts::{PI, TAU};

use super::identity::SplitMix64;

const DEG: f32 = PI / 180.0;

/// One joint angle over time: `mid + sum(amp * sin(2 pi freq t + phase))`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Wave {
    mid: f32,
    terms: [(f32, f32, f32); 3],
}

impl Wave {
    /// Random phases and weights; the amplitudes always sum to `half_range`.
    fn new(rng: &mut SplitMix64, mid: f32, half_range: f32, beat: f32, mults: [f32; 3]) -> Self {
        let w = [
            rng.range(0.5, 0.7),
            rng.range(0.2, 0.35),
            rng.range(0.05, 0.15),
        ];
        let sum: f32 = w.iter().sum();
        let mut terms = [(0.0, 0.0, 0.0); 3];
        for (i, term) in terms.iter_mut().enumerate() {
            *term = (
                half_range * w[i] / sum,
                beat * mults[i] * rng.range(0.95, 1.05),
                rng.range(0.0, TAU),
            );
        }
        Self { mid, terms }
    }

    fn at(&self, t: f32) -> f32 {
        self.terms
            .iter()
            .fold(self.mid, |v, &(a, f, p)| v + a * (TAU * f * t + p).sin())
    }
}

/// Angles of one arm (radians). Abduction is measured outwards from hanging straight down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ArmPose {
    pub abduction: f32,
    /// Raise towards the camera.
    pub forward: f32,
    pub elbow: f32,
    pub wrist: f32,
}

/// Angles of one leg (radians).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LegPose {
    pub abduction: f32,
    /// Thigh raised towards the camera.
    pub flexion: f32,
    pub knee: f32,
}

/// The body's pose at one instant; index 0 is the person's left, 1 their right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pose {
    /// Sideways hip shift, stature units.
    pub sway: f32,
    pub pelvis_roll: f32,
    pub lean: f32,
    pub head_roll: f32,
    pub arms: [ArmPose; 2],
    pub legs: [LegPose; 2],
}

/// Largest sideways hip shift, stature units (layout keeps room for it).
pub(crate) const MAX_SWAY: f32 = 0.03;
/// Largest torso lean, radians.
pub(crate) const MAX_LEAN: f32 = 5.0 * DEG;

#[derive(Debug, Clone, Copy, PartialEq)]
struct ArmWaves {
    abduction: Wave,
    forward: Wave,
    elbow: Wave,
    wrist: Wave,
}

/// A deterministic dance: the same seed and time always give the same pose.
#[derive(Debug, Clone, PartialEq)]
pub struct Motion {
    sway: Wave,
    pelvis_roll: Wave,
    lean: Wave,
    head_roll: Wave,
    arms: [ArmWaves; 2],
    hip_abduction: [Wave; 2],
    bounce: Wave,
    /// Alternating steps: (frequency, phase); the left foot lifts while the sine is positive.
    step: (f32, f32),
}

impl Motion {
    /// A dance for `seed`; different seeds dance differently.
    pub fn dance(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0xDA9C_E000_0000_0001);
        let beat = rng.range(0.38, 0.5);
        let golden = 1.618_034;
        let arm = |rng: &mut SplitMix64| ArmWaves {
            abduction: Wave::new(rng, 52.0 * DEG, 44.0 * DEG, beat, [1.0, 0.5, golden]),
            forward: Wave::new(rng, 12.0 * DEG, 12.0 * DEG, beat, [0.5, 1.0, 1.41]),
            elbow: Wave::new(rng, 58.0 * DEG, 46.0 * DEG, beat, [1.0, golden, 0.5]),
            wrist: Wave::new(rng, 0.0, 15.0 * DEG, beat, [1.0, 2.0, 0.7]),
        };
        let arms = [arm(&mut rng), arm(&mut rng)];
        Self {
            sway: Wave::new(&mut rng, 0.0, MAX_SWAY, beat, [0.5, 0.25, 0.81]),
            pelvis_roll: Wave::new(&mut rng, 0.0, 4.0 * DEG, beat, [0.5, 1.0, 0.3]),
            lean: Wave::new(&mut rng, 0.0, MAX_LEAN, beat, [0.5, 0.81, 0.31]),
            head_roll: Wave::new(&mut rng, 0.0, 9.0 * DEG, beat, [0.5, 1.0, 1.7]),
            arms,
            hip_abduction: [
                Wave::new(&mut rng, 7.0 * DEG, 4.0 * DEG, beat, [0.5, 1.0, 0.37]),
                Wave::new(&mut rng, 7.0 * DEG, 4.0 * DEG, beat, [0.5, 1.0, 0.37]),
            ],
            bounce: Wave::new(&mut rng, 11.0 * DEG, 11.0 * DEG, beat, [1.0, 2.0, 0.5]),
            step: (beat * rng.range(0.9, 1.1), rng.range(0.0, TAU)),
        }
    }

    /// Joint angles at `t` seconds.
    pub(crate) fn pose(&self, t: f32) -> Pose {
        let arm = |w: &ArmWaves| ArmPose {
            abduction: w.abduction.at(t),
            forward: w.forward.at(t),
            elbow: w.elbow.at(t),
            wrist: w.wrist.at(t),
        };
        let bounce = self.bounce.at(t);
        let s = (TAU * self.step.0 * t + self.step.1).sin();
        // Squared half-waves: a lift starts and ends with zero speed.
        let lifts = [s.max(0.0).powi(2), (-s).max(0.0).powi(2)];
        let leg = |i: usize| LegPose {
            abduction: self.hip_abduction[i].at(t),
            // Knees bend forward while the shins lean back, keeping the feet under the hips.
            flexion: 0.5 * bounce + 30.0 * DEG * lifts[i],
            knee: bounce + 55.0 * DEG * lifts[i],
        };
        Pose {
            sway: self.sway.at(t),
            pelvis_roll: self.pelvis_roll.at(t),
            lean: self.lean.at(t),
            head_roll: self.head_roll.at(t),
            arms: [arm(&self.arms[0]), arm(&self.arms[1])],
            legs: [leg(0), leg(1)],
        }
    }
}
