//! What sets one synthetic person apart beyond colour: the cut and pattern of their clothes,
//! their hair, and how the camera frames them and drifts over time. Meta-learning has to
//! learn appearance from a few frames; identities that differ only in colour would teach it
//! little.

use std::f32::consts::TAU;

use super::identity::{Rgb, SplitMix64};

/// Cut of the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopFit {
    /// Follows the torso and ends at the waist.
    Fitted,
    /// Wider, hangs below the waist, with wide sleeves.
    Loose,
}

/// What covers the legs. Lengths are fractions of the thigh: 0 at the hip, 1 at the knee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bottom {
    Trousers,
    /// Bare legs below the hem.
    Shorts {
        length: f32,
    },
    /// A flared skirt in the trousers' colour; bare legs below.
    Skirt {
        length: f32,
    },
    /// The top continued into a skirt, in the top's colour and pattern.
    Dress {
        length: f32,
    },
}

impl Bottom {
    /// Whether the shins are bare skin.
    pub(crate) fn bare_legs(&self) -> bool {
        !matches!(self, Bottom::Trousers)
    }
}

/// The print on a piece of clothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    Plain,
    Stripes,
    Checks,
    Dots,
}

/// A print anchored to the body part it is on, so it moves with the cloth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pattern {
    pub kind: PatternKind,
    /// Colour of the stripes, checks or dots over the garment's own colour.
    pub colour: Rgb,
    /// Repeat length, stature units.
    pub period: f32,
    /// Rotation of the print, radians (0: stripes across the body).
    pub angle: f32,
}

impl Pattern {
    pub const PLAIN: Pattern = Pattern {
        kind: PatternKind::Plain,
        colour: [0, 0, 0],
        period: 1.0,
        angle: 0.0,
    };

    /// How much of the print's colour covers part coordinates (`u` across, `v` along, in
    /// stature units), 0..1, with edges softened over `aa` stature units (one pixel).
    pub(crate) fn ink(&self, u: f32, v: f32, aa: f32) -> f32 {
        let (s, c) = self.angle.sin_cos();
        let (a, b) = (u * c - v * s, u * s + v * c);
        let p = self.period.max(1e-4);
        let aa = aa.max(1e-6);
        // Distance from the nearest stripe centre, as a fraction of the period.
        let band = |x: f32| {
            let d = ((x / p).rem_euclid(1.0) - 0.5).abs() * p;
            ((0.25 * p - d) / aa + 0.5).clamp(0.0, 1.0)
        };
        match self.kind {
            PatternKind::Plain => 0.0,
            PatternKind::Stripes => band(b),
            PatternKind::Checks => {
                let (x, y) = (band(a), band(b));
                x + y - 2.0 * x * y
            }
            PatternKind::Dots => {
                let du = ((a / p).rem_euclid(1.0) - 0.5) * p;
                let dv = ((b / p).rem_euclid(1.0) - 0.5) * p;
                ((0.28 * p - du.hypot(dv)) / aa + 0.5).clamp(0.0, 1.0)
            }
        }
    }

    pub(crate) fn random(rng: &mut SplitMix64, colour: Rgb) -> Self {
        let kind = rng.pick(&[
            PatternKind::Plain,
            PatternKind::Plain,
            PatternKind::Stripes,
            PatternKind::Checks,
            PatternKind::Dots,
        ]);
        Pattern {
            kind,
            colour,
            period: rng.range(0.035, 0.07),
            angle: rng.pick(&[0.0, 0.0, std::f32::consts::FRAC_PI_2, 0.6]),
        }
    }
}

/// Hair style; the head's outline changes with it, not only its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HairStyle {
    Short,
    /// Reaching the shoulders.
    Long,
    /// Short at the sides with a bun on top.
    Bun,
    /// A big round volume of curls around the head.
    Curly,
}

/// Where the person stands in the frame, before the camera drifts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    /// -1 at the left edge of the free room beside the person, 0 centred, 1 at the right.
    pub x: f32,
    /// Share of the free room above and below the person that lies below the feet.
    pub y: f32,
}

/// A slow, smooth camera pan and zoom about the frame's centre, one sine per axis.
/// Deterministic per identity, so a test frame is framed unlike the training frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Largest relative zoom (0.03 = 3%).
    pub zoom: f32,
    /// Largest pan, fractions of the frame's width and height.
    pub pan: [f32; 2],
    /// Frequencies (Hz) of zoom, pan x and pan y.
    pub freq: [f32; 3],
    pub phase: [f32; 3],
}

impl Drift {
    pub const NONE: Drift = Drift {
        zoom: 0.0,
        pan: [0.0, 0.0],
        freq: [0.0; 3],
        phase: [0.0; 3],
    };

    /// Zoom factor and pan (fractions of the frame) at `t` seconds.
    pub fn at(&self, t: f32) -> (f32, [f32; 2]) {
        let w = |i: usize| (TAU * self.freq[i] * t + self.phase[i]).sin();
        (
            1.0 + self.zoom * w(0),
            [self.pan[0] * w(1), self.pan[1] * w(2)],
        )
    }

    /// Share of each side of the frame kept free so the drift never pushes the person out.
    pub(crate) fn margin(&self) -> [f32; 2] {
        let z = 0.5 * self.zoom;
        [z + self.pan[0], z + self.pan[1]]
    }

    pub(crate) fn random(rng: &mut SplitMix64) -> Self {
        Drift {
            zoom: rng.range(0.02, 0.05),
            pan: [rng.range(0.01, 0.04), rng.range(0.01, 0.03)],
            // Periods of 12 to 40 s: slow next to the dance, but a clip sees a good part.
            freq: [
                rng.range(0.025, 0.08),
                rng.range(0.025, 0.08),
                rng.range(0.025, 0.08),
            ],
            phase: [
                rng.range(0.0, TAU),
                rng.range(0.0, TAU),
                rng.range(0.0, TAU),
            ],
        }
    }
}
