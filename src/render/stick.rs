//! The stick figure people look at: coloured limbs and joint dots over a background.

use tiny_skia::{Color, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::parts::BODY_PARTS;
use super::posemap::part_path;
use super::MIN_DRAW_VISIBILITY;
use crate::{RgbImage, Skeleton};

/// Draws `skeleton` (in the image's pixels) over `background`, in place.
pub fn draw_stick_figure(background: &mut RgbImage, skeleton: &Skeleton) {
    if !skeleton.found() {
        return;
    }
    let (w, h) = (background.width, background.height);
    let Some(mut pixmap) = Pixmap::new(w, h) else {
        return;
    };
    for (px, rgb) in pixmap
        .data_mut()
        .chunks_exact_mut(4)
        .zip(background.data.chunks_exact(3))
    {
        px.copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
    }
    let width = super::stroke_width(w.min(h));
    let stroke = Stroke {
        width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    };
    let mut paint = Paint {
        anti_alias: true,
        ..Paint::default()
    };
    for part in &BODY_PARTS {
        if let Some(path) = part_path(part, skeleton) {
            let [r, g, b] = part.colour;
            paint.set_color_rgba8(r, g, b, 255);
            pixmap.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        }
    }
    paint.set_color(Color::WHITE);
    let mut dots = PathBuilder::new();
    for lm in skeleton
        .landmarks
        .iter()
        .filter(|l| l.visibility >= MIN_DRAW_VISIBILITY)
    {
        dots.push_circle(lm.x, lm.y, width * 0.6);
    }
    if let Some(dots) = dots.finish() {
        pixmap.fill_path(
            &dots,
            &paint,
            tiny_skia::FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
    for (rgb, px) in background
        .data
        .chunks_exact_mut(3)
        .zip(pixmap.data().chunks_exact(4))
    {
        rgb.copy_from_slice(&px[..3]);
    }
}
