//! Rendering skeletons: the multi-channel pose map the generator reads, and an RGB stick
//! figure for people to look at.
//!
//! Everything is drawn into square panels of `size x size` pixels, the generator's frame. A
//! source frame is fitted into a panel by [`PanelFit`] (scaled to fit, centred, letterboxed),
//! and skeletons go through the same mapping so they line up with the scaled frame.

pub mod joints;
pub mod normalize;
mod panel;
mod parts;
mod posemap;
mod stick;
mod view;

pub use panel::{crop_resampled, letterbox, PanelFit};
pub use parts::{BodyPart, BODY_PARTS, NUM_PARTS};
pub use posemap::{PoseMap, PoseMapRenderer, POSE_MAP_FORMAT};
pub use stick::draw_stick_figure;
pub use view::{View, ViewRenderer};

/// Landmarks below this visibility are left out of drawings: an occluded limb drawn where
/// the model guesses it would show the generator a limb that is not in the picture.
pub const MIN_DRAW_VISIBILITY: f32 = 0.5;

/// Stroke width for a panel of `size` pixels: thick enough for the generator to see at 256.
pub fn stroke_width(size: u32) -> f32 {
    (size as f32 / 64.0).max(2.0)
}
