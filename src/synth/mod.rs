//! Synthetic people with exact ground truth.
//!
//! A parametric person seen from the front ([`Identity`]) dances a smooth, deterministic
//! [`Motion`]; forward kinematics gives the 33 BlazePose landmarks exactly where the drawing
//! puts the body parts. Two uses: `make demo` needs a driving video on a machine with no
//! footage (so the person must look human enough for the real BlazePose to track it), and
//! training needs many identities with known poses.
//!
//! What makes BlazePose track it: a face (eyes, nose, mouth, ears) so it is seen from the
//! front rather than from behind, hands with fingers, shading rather than flat colour, and
//! clothes that stand out from the room.
//!
//! For meta-learning, identities differ in shape as well as colour (cut of the clothes,
//! prints, hair style, build, framing), and each has a slow camera drift so frames late in a
//! clip are framed unlike early ones.

mod body;
mod draw;
mod face;
mod identity;
mod live;
mod motion;
mod shapes;
mod skia;
mod source;
mod style;
#[cfg(test)]
mod style_tests;
#[cfg(test)]
mod tests;

pub use identity::{Backdrop, Identity, Rgb};
pub use live::LiveTestSource;
pub use motion::Motion;
pub use source::SyntheticSource;
pub use style::{Bottom, Drift, Framing, HairStyle, Pattern, PatternKind, TopFit};

use crate::{RgbImage, Skeleton};

/// The labels [`SyntheticPerson::parts`] gives each body part: Posewarp's limb index plus
/// one (`crate::render::joints::LIMBS`; synth sits below render, so the values are written
/// out here and a test in `jobs::synth` holds them to the limbs). Paired parts are `[left,
/// right]`, the person's own sides; 0 is no part.
pub mod part {
    pub const HEAD: u8 = 1;
    pub const UPPER_ARM: [u8; 2] = [4, 2];
    pub const FOREARM: [u8; 2] = [5, 3];
    pub const THIGH: [u8; 2] = [8, 6];
    pub const SHIN: [u8; 2] = [9, 7];
    pub const TORSO: u8 = 10;
}

/// Smallest frame side drawn; smaller requests are raised to it so nothing degenerates.
pub const MIN_SIZE: u32 = 16;

/// A person and their dance: everything needed to render any instant.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticPerson {
    pub identity: Identity,
    pub motion: Motion,
}

impl SyntheticPerson {
    /// The demo's dancer.
    pub fn demo() -> Self {
        Self {
            identity: Identity::demo(),
            motion: Motion::dance(0),
        }
    }

    /// A random person with their own dance, both from `seed`.
    pub fn random(seed: u64) -> Self {
        Self {
            identity: Identity::random(seed),
            motion: Motion::dance(seed),
        }
    }

    /// Draws the person at `t` seconds, with the ground-truth skeleton in image pixels.
    ///
    /// Sides below [`MIN_SIZE`] are raised to it (the image is then that size).
    pub fn render(&self, t: f32, width: u32, height: u32) -> (RgbImage, Skeleton) {
        let (width, height) = (width.max(MIN_SIZE), height.max(MIN_SIZE));
        let layout = body::Layout::at(&self.identity, width, height, t);
        let body = body::solve(&self.identity, &self.motion.pose(t), &layout);
        let image = draw::draw(&self.identity, &body, layout.floor_y, width, height);
        (image, skeleton(&body))
    }

    /// Where the person is at `t` seconds: each pixel's exact coverage (0..255, row-major),
    /// what a perfect segmentation would give.
    pub fn mask(&self, t: f32, width: u32, height: u32) -> Vec<u8> {
        let (width, height) = (width.max(MIN_SIZE), height.max(MIN_SIZE));
        let layout = body::Layout::at(&self.identity, width, height, t);
        let body = body::solve(&self.identity, &self.motion.pose(t), &layout);
        draw::person_coverage(&self.identity, &body, width, height)
    }

    /// Which body part each pixel shows at `t` seconds (row-major; a [`part`] label, 0 where
    /// no part of the person is): the exact part masks a learned segmentation can be taught
    /// with.
    pub fn parts(&self, t: f32, width: u32, height: u32) -> Vec<u8> {
        let (width, height) = (width.max(MIN_SIZE), height.max(MIN_SIZE));
        let layout = body::Layout::at(&self.identity, width, height, t);
        let body = body::solve(&self.identity, &self.motion.pose(t), &layout);
        draw::part_labels(&self.identity, &body, width, height)
    }

    /// The ground-truth skeleton alone, without drawing (cheap).
    pub fn skeleton(&self, t: f32, width: u32, height: u32) -> Skeleton {
        let (width, height) = (width.max(MIN_SIZE), height.max(MIN_SIZE));
        let layout = body::Layout::at(&self.identity, width, height, t);
        skeleton(&body::solve(&self.identity, &self.motion.pose(t), &layout))
    }
}

fn skeleton(body: &body::Body) -> Skeleton {
    let landmarks = body
        .landmarks
        .iter()
        .map(|&[x, y, z]| crate::Landmark {
            x,
            y,
            z,
            visibility: 1.0,
            presence: 1.0,
        })
        .collect();
    Skeleton { landmarks }
}
