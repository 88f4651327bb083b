//! The generator's input: one channel per body part, each the part's limbs drawn as thick
//! anti-aliased strokes with values in 0..1.

use tiny_skia::{FillRule, LineCap, LineJoin, Mask, PathBuilder, Stroke, Transform};

use super::parts::{BodyPart, BODY_PARTS, NUM_PARTS};
use super::MIN_DRAW_VISIBILITY;
use crate::Skeleton;

/// Identifies the channel layout; stored in checkpoints so a model never reads a map drawn
/// another way.
pub const POSE_MAP_FORMAT: &str = "blazepose33-parts18-v1";

/// A `NUM_PARTS x size x size` pose map, channel-major (CHW), values in 0..1.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseMap {
    pub size: u32,
    pub data: Vec<f32>,
}

impl PoseMap {
    pub fn channel(&self, part: usize) -> &[f32] {
        let n = (self.size * self.size) as usize;
        &self.data[part * n..(part + 1) * n]
    }
}

/// Draws pose maps, reusing its scratch mask from frame to frame.
pub struct PoseMapRenderer {
    size: u32,
    stroke: Stroke,
    mask: Mask,
}

impl PoseMapRenderer {
    pub fn new(size: u32) -> Self {
        let stroke = Stroke {
            width: super::stroke_width(size),
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        let mask = Mask::new(size, size).expect("panel size is validated non-zero");
        Self { size, stroke, mask }
    }

    /// Renders `skeleton` (already in panel pixels). A skeleton with nobody gives an all-zero map.
    pub fn render(&mut self, skeleton: &Skeleton) -> PoseMap {
        let n = (self.size * self.size) as usize;
        let mut data = vec![0.0f32; NUM_PARTS * n];
        self.draw_parts(skeleton, |part, mask| {
            for (v, &m) in data[part * n..(part + 1) * n].iter_mut().zip(mask) {
                *v = m as f32 / 255.0;
            }
        });
        PoseMap {
            size: self.size,
            data,
        }
    }

    /// [`Self::render`]'s map times 255, as the coverage bytes it is drawn from, into `out`
    /// (`NUM_PARTS x size x size`, channel-major): a quarter of the bytes to move to a GPU.
    pub fn render_bytes(&mut self, skeleton: &Skeleton, out: &mut [u8]) {
        let n = (self.size * self.size) as usize;
        assert_eq!(out.len(), NUM_PARTS * n, "a map's bytes");
        out.fill(0);
        self.draw_parts(skeleton, |part, mask| {
            out[part * n..(part + 1) * n].copy_from_slice(mask)
        });
    }

    /// Draws each visible part of `skeleton` and hands `each` its index and coverage bytes;
    /// parts with nothing visible, and everything of nobody, are not handed over.
    fn draw_parts(&mut self, skeleton: &Skeleton, mut each: impl FnMut(usize, &[u8])) {
        if !skeleton.found() {
            return;
        }
        for (k, part) in BODY_PARTS.iter().enumerate() {
            self.mask.clear();
            if fill_part(&mut self.mask, part, skeleton, &self.stroke) {
                each(k, self.mask.data());
            }
        }
    }
}

/// The polyline of a part through its visible landmarks; None when fewer than two are visible.
pub(super) fn part_path(part: &BodyPart, skeleton: &Skeleton) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    let mut pen_down = false;
    let mut segments = 0;
    for &i in part.chain {
        let lm = &skeleton.landmarks[i];
        if lm.visibility < MIN_DRAW_VISIBILITY {
            pen_down = false;
            continue;
        }
        if pen_down {
            pb.line_to(lm.x, lm.y);
            segments += 1;
        } else {
            pb.move_to(lm.x, lm.y);
            pen_down = true;
        }
    }
    if segments == 0 {
        return None;
    }
    pb.finish()
}

/// Draws one part into `mask`; false when nothing of it is visible.
fn fill_part(mask: &mut Mask, part: &BodyPart, skeleton: &Skeleton, stroke: &Stroke) -> bool {
    let Some(outline) = part_path(part, skeleton).and_then(|p| p.stroke(stroke, 1.0)) else {
        return false;
    };
    mask.fill_path(&outline, FillRule::Winding, true, Transform::identity());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    fn standing(size: f32) -> Skeleton {
        // A crude upright figure: enough to light every part's channel.
        let mut p = [[size / 2.0, size / 2.0]; NUM_LANDMARKS];
        let c = size / 2.0;
        let s = size / 10.0;
        let set = |p: &mut [[f32; 2]; NUM_LANDMARKS], i: usize, x: f32, y: f32| {
            p[i] = [c + x * s, c + y * s]
        };
        for (i, x, y) in [
            (0, 0.0, -3.5),
            (2, 0.3, -3.7),
            (5, -0.3, -3.7),
            (7, 0.6, -3.6),
            (8, -0.6, -3.6),
            (9, 0.2, -3.2),
            (10, -0.2, -3.2),
            (11, 1.0, -2.5),
            (12, -1.0, -2.5),
            (13, 1.5, -1.0),
            (14, -1.5, -1.0),
            (15, 1.8, 0.3),
            (16, -1.8, 0.3),
            (17, 2.0, 0.7),
            (18, -2.0, 0.7),
            (19, 1.9, 0.8),
            (20, -1.9, 0.8),
            (21, 1.6, 0.7),
            (22, -1.6, 0.7),
            (23, 0.6, 0.5),
            (24, -0.6, 0.5),
            (25, 0.7, 2.2),
            (26, -0.7, 2.2),
            (27, 0.7, 3.9),
            (28, -0.7, 3.9),
            (29, 0.6, 4.2),
            (30, -0.6, 4.2),
            (31, 1.1, 4.3),
            (32, -1.1, 4.3),
        ] {
            set(&mut p, i, x, y);
        }
        Skeleton::from_points(&p)
    }

    #[test]
    fn every_part_lights_its_own_channel() {
        let map = PoseMapRenderer::new(128).render(&standing(128.0));
        for (k, part) in BODY_PARTS.iter().enumerate() {
            let lit = map.channel(k).iter().filter(|&&v| v > 0.5).count();
            assert!(lit > 10, "part {} has {lit} lit pixels", part.name);
        }
        // The left shin's channel is lit on the left shin, not on the right one.
        let shin = BODY_PARTS
            .iter()
            .position(|p| p.name == "left_shin")
            .unwrap();
        let s = standing(128.0);
        let mid = |a: usize, b: usize| {
            let (la, lb) = (&s.landmarks[a], &s.landmarks[b]);
            (
                ((la.x + lb.x) / 2.0) as usize,
                ((la.y + lb.y) / 2.0) as usize,
            )
        };
        let ((lx, ly), (rx, ry)) = (mid(25, 27), mid(26, 28));
        assert!(map.channel(shin)[ly * 128 + lx] > 0.9);
        assert_eq!(map.channel(shin)[ry * 128 + rx], 0.0);
    }

    #[test]
    fn nobody_gives_an_empty_map_and_hidden_parts_stay_dark() {
        let mut r = PoseMapRenderer::new(64);
        assert!(r.render(&Skeleton::none()).data.iter().all(|&v| v == 0.0));
        let mut s = standing(64.0);
        s.landmarks[27].visibility = 0.1; // left ankle hidden: shin and foot lose a point
        let map = r.render(&s);
        let shin = BODY_PARTS
            .iter()
            .position(|p| p.name == "left_shin")
            .unwrap();
        assert!(map.channel(shin).iter().all(|&v| v == 0.0));
    }
}
