//! Paints a [`Scene`] with tiny-skia: the CPU painter, exact Bezier outlines and
//! analytic anti-aliasing.

use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Mask, Paint, Path, Pixmap, Point,
    RadialGradient, Rect, Shader, SpreadMode, Stroke, Transform,
};

use super::body::{v2, V2};
use super::identity::{shade, Rgb};
use super::shapes::{luma, Cmd, Print, Scene, LINEAR_STOPS, RADIAL_STOPS};
use crate::RgbImage;

fn colour(c: Rgb) -> Color {
    Color::from_rgba8(c[0], c[1], c[2], 255)
}

fn point(p: V2) -> Point {
    Point::from_xy(p.x, p.y)
}

fn paint(shader: Shader<'static>) -> Paint<'static> {
    Paint {
        shader,
        anti_alias: true,
        ..Paint::default()
    }
}

fn stops(c: Rgb, table: &[(f32, f32)]) -> Vec<GradientStop> {
    table
        .iter()
        .map(|&(at, k)| GradientStop::new(at, colour(shade(c, k))))
        .collect()
}

/// Replays `scene` onto a `width` x `height` image; `blank` fills a frame tiny-skia cannot
/// allocate.
pub(crate) fn paint_scene(scene: &Scene, width: u32, height: u32, blank: Rgb) -> RgbImage {
    let Some(pixmap) = replay(scene, width, height) else {
        return RgbImage::filled(width, height, blank);
    };
    let mut data = Vec::with_capacity(width as usize * height as usize * 3);
    for px in pixmap.data().chunks_exact(4) {
        data.extend_from_slice(&px[..3]);
    }
    RgbImage::from_raw(width, height, data)
}

/// How much of each pixel `scene` covers (0..255, row-major): its alpha over nothing.
pub(crate) fn coverage(scene: &Scene, width: u32, height: u32) -> Vec<u8> {
    match replay(scene, width, height) {
        Some(pixmap) => pixmap.data().chunks_exact(4).map(|px| px[3]).collect(),
        None => vec![0; width as usize * height as usize],
    }
}

/// Which body part each pixel's centre shows (0..255, row-major; 0 where none does): each
/// command of `scene` painted flat in its part's label from `parts` (see
/// [`super::shapes::Canvas::part`]), back to front and without anti-aliasing, so a part in
/// front hides the ones behind. Prints lie inside the fills they recolour and bands are the
/// room: both are skipped.
pub(crate) fn labels(scene: &Scene, parts: &[(usize, u8)], width: u32, height: u32) -> Vec<u8> {
    let Some(mut pixmap) = Pixmap::new(width, height) else {
        return vec![0; width as usize * height as usize];
    };
    let id = Transform::identity();
    for (i, cmd) in scene.iter().enumerate() {
        let label = parts
            .iter()
            .take_while(|&&(first, _)| first <= i)
            .last()
            .map_or(0, |&(_, label)| label);
        let mut flat = paint(Shader::SolidColor(Color::from_rgba8(label, 0, 0, 255)));
        flat.anti_alias = false;
        match cmd {
            Cmd::Band { .. } | Cmd::Print { .. } => {}
            Cmd::Fill { path, .. } | Cmd::Linear { path, .. } | Cmd::Radial { path, .. } => {
                pixmap.fill_path(path, &flat, FillRule::Winding, id, None);
            }
            Cmd::Stroke { path, width, .. } => {
                let stroke = Stroke {
                    width: *width,
                    line_cap: tiny_skia::LineCap::Round,
                    ..Stroke::default()
                };
                pixmap.stroke_path(path, &flat, &stroke, id, None);
            }
        }
    }
    pixmap.data().chunks_exact(4).map(|px| px[0]).collect()
}

/// `scene` painted over a transparent `width` x `height` pixmap (None: too large to allocate).
fn replay(scene: &Scene, width: u32, height: u32) -> Option<Pixmap> {
    let mut pixmap = Pixmap::new(width, height)?;
    let id = Transform::identity();
    for cmd in scene {
        match cmd {
            Cmd::Band {
                y0,
                y1,
                top,
                bottom,
            } => {
                let Some(rect) = Rect::from_ltrb(0.0, *y0, width as f32, *y1) else {
                    continue;
                };
                let grad = vec![
                    GradientStop::new(0.0, colour(*top)),
                    GradientStop::new(1.0, colour(*bottom)),
                ];
                let shader = LinearGradient::new(
                    point(v2(0.0, *y0)),
                    point(v2(0.0, *y1)),
                    grad,
                    SpreadMode::Pad,
                    id,
                )
                .unwrap_or(Shader::SolidColor(colour(*top)));
                let mut p = paint(shader);
                p.anti_alias = false;
                pixmap.fill_rect(rect, &p, id, None);
            }
            Cmd::Fill {
                path,
                colour: c,
                alpha,
            } => {
                let p = paint(Shader::SolidColor(Color::from_rgba8(
                    c[0], c[1], c[2], *alpha,
                )));
                pixmap.fill_path(path, &p, FillRule::Winding, id, None);
            }
            Cmd::Linear {
                path,
                colour: c,
                from,
                to,
            } => {
                let shader = LinearGradient::new(
                    point(*from),
                    point(*to),
                    stops(*c, &LINEAR_STOPS),
                    SpreadMode::Pad,
                    id,
                )
                .unwrap_or(Shader::SolidColor(colour(*c)));
                pixmap.fill_path(path, &paint(shader), FillRule::Winding, id, None);
            }
            Cmd::Radial {
                path,
                colour: c,
                centre,
                radius,
            } => {
                let shader = RadialGradient::new(
                    point(*centre),
                    0.0,
                    point(*centre),
                    *radius,
                    stops(*c, &RADIAL_STOPS),
                    SpreadMode::Pad,
                    id,
                )
                .unwrap_or(Shader::SolidColor(colour(*c)));
                pixmap.fill_path(path, &paint(shader), FillRule::Winding, id, None);
            }
            Cmd::Print { path, base, print } => print_path(&mut pixmap, path, *base, print),
            Cmd::Stroke {
                path,
                colour: c,
                width,
            } => {
                let stroke = Stroke {
                    width: *width,
                    line_cap: tiny_skia::LineCap::Round,
                    ..Stroke::default()
                };
                let p = paint(Shader::SolidColor(colour(*c)));
                pixmap.stroke_path(path, &p, &stroke, id, None);
            }
        }
    }
    Some(pixmap)
}

/// See [`Cmd::Print`].
fn print_path(pixmap: &mut Pixmap, path: &Path, base: Rgb, print: &Print) {
    let (w, h) = (pixmap.width(), pixmap.height());
    let Some(mut mask) = Mask::new(w, h) else {
        return;
    };
    mask.fill_path(path, FillRule::Winding, true, Transform::identity());
    let b = path.bounds();
    let x0 = (b.left().floor().max(0.0) as u32).min(w);
    let y0 = (b.top().floor().max(0.0) as u32).min(h);
    let x1 = (b.right().ceil().max(0.0) as u32).min(w);
    let y1 = (b.bottom().ceil().max(0.0) as u32).min(h);
    let aa = 1.0 / print.frame.ex.len().max(1e-6);
    let base_luma = luma(base).max(8.0);
    let ink = print.pattern.colour;
    let cover = mask.data();
    let data = pixmap.data_mut();
    for y in y0..y1 {
        for x in x0..x1 {
            let i = (y * w + x) as usize;
            if cover[i] == 0 {
                continue;
            }
            let (u, v) = print.uv(v2(x as f32 + 0.5, y as f32 + 0.5));
            let a = print.pattern.ink(u, v, aa) * cover[i] as f32 / 255.0;
            if a <= 0.0 {
                continue;
            }
            let px = &mut data[4 * i..4 * i + 3];
            let k = (luma([px[0], px[1], px[2]]) / base_luma).clamp(0.3, 1.6);
            for (p, &c) in px.iter_mut().zip(&ink) {
                let target = (c as f32 * k).min(255.0);
                *p = (*p as f32 + (target - *p as f32) * a).round() as u8;
            }
        }
    }
}
