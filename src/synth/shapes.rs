//! Drawing primitives over tiny-skia: shaded capsules, ellipses and smooth outlines.
//!
//! Shading (darker edges, a highlight, an outline) gives the limbs the roundness a pose
//! CNN trained on real people expects; flat cut-outs are read less reliably.

use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, Path, PathBuilder, Pixmap, Point,
    RadialGradient, Shader, SpreadMode, Stroke, Transform,
};

use super::body::{v2, Local, V2};
use super::identity::{shade, Rgb};
use super::style::{Pattern, PatternKind};

/// A pattern laid on a garment: `frame` maps part coordinates (stature units, u across, v
/// along) to pixels, so the print moves and turns with the part.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Print {
    pub pattern: Pattern,
    pub frame: Local,
}

impl Print {
    /// `None` for a plain garment, so callers skip the per-pixel pass.
    pub(crate) fn new(pattern: Pattern, frame: Local) -> Option<Print> {
        (pattern.kind != PatternKind::Plain).then_some(Print { pattern, frame })
    }

    /// Part coordinates of pixel position `p` (the frame's axes are orthogonal).
    fn uv(&self, p: V2) -> (f32, f32) {
        let d = p - self.frame.o;
        let (ex, ey) = (self.frame.ex, self.frame.ey);
        let dot = |a: V2, b: V2| a.x * b.x + a.y * b.y;
        (
            dot(d, ex) / dot(ex, ex).max(1e-9),
            dot(d, ey) / dot(ey, ey).max(1e-9),
        )
    }
}

/// Perceived brightness of a colour, 0..255.
pub(crate) fn luma(c: Rgb) -> f32 {
    0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32
}

/// Cubic Bezier handle length for a quarter circle.
const KAPPA: f32 = 0.552_284_8;

fn colour(c: Rgb) -> Color {
    Color::from_rgba8(c[0], c[1], c[2], 255)
}

fn point(p: V2) -> Point {
    Point::from_xy(p.x, p.y)
}

/// Appends a quarter ellipse from `c + a` to `c + b` (a, b conjugate semi-axes).
fn quarter(pb: &mut PathBuilder, c: V2, a: V2, b: V2) {
    let p1 = c + a + b * KAPPA;
    let p2 = c + b + a * KAPPA;
    let p3 = c + b;
    pb.cubic_to(p1.x, p1.y, p2.x, p2.y, p3.x, p3.y);
}

/// An ellipse with conjugate semi-axes `a` and `b` (any affine image of a circle).
pub(crate) fn ellipse(c: V2, a: V2, b: V2) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let s = c + a;
    pb.move_to(s.x, s.y);
    quarter(&mut pb, c, a, b);
    quarter(&mut pb, c, b, -a);
    quarter(&mut pb, c, -a, -b);
    quarter(&mut pb, c, -b, a);
    pb.close();
    pb.finish()
}

/// An ellipse in a part's own coordinates.
pub(crate) fn local_ellipse(f: &Local, cx: f32, cy: f32, rx: f32, ry: f32) -> Option<Path> {
    ellipse(f.at(cx, cy), f.ex * rx, f.ey * ry)
}

/// A limb segment: a round end of radius `ra` at `a`, straight sides, and at `b` a round
/// end of radius `rb`, or a square one (a hem) when `round_b` is false.
pub(crate) fn segment(a: V2, ra: f32, b: V2, rb: f32, round_b: bool) -> Option<Path> {
    let u = (b - a).unit();
    let n = u.perp();
    let mut pb = PathBuilder::new();
    let s = a + n * ra;
    pb.move_to(s.x, s.y);
    let e = b + n * rb;
    pb.line_to(e.x, e.y);
    if round_b {
        quarter(&mut pb, b, n * rb, u * rb);
        quarter(&mut pb, b, u * rb, -n * rb);
    }
    let e = a - n * ra;
    let f = b - n * rb;
    pb.line_to(f.x, f.y);
    pb.line_to(e.x, e.y);
    quarter(&mut pb, a, -n * ra, -u * ra);
    quarter(&mut pb, a, -u * ra, n * ra);
    pb.close();
    pb.finish()
}

/// A closed smooth curve through `pts` (Catmull-Rom turned into cubic Beziers).
pub(crate) fn smooth_closed(pts: &[V2]) -> Option<Path> {
    let n = pts.len();
    if n < 3 {
        return None;
    }
    let mut pb = PathBuilder::new();
    pb.move_to(pts[0].x, pts[0].y);
    for i in 0..n {
        let p0 = pts[(i + n - 1) % n];
        let p1 = pts[i];
        let p2 = pts[(i + 1) % n];
        let p3 = pts[(i + 2) % n];
        let c1 = p1 + (p2 - p0) * (1.0 / 6.0);
        let c2 = p2 - (p3 - p1) * (1.0 / 6.0);
        pb.cubic_to(c1.x, c1.y, c2.x, c2.y, p2.x, p2.y);
    }
    pb.close();
    pb.finish()
}

/// An open smooth curve through `pts` (Catmull-Rom, ends repeated).
pub(crate) fn smooth_open(pts: &[V2]) -> Option<Path> {
    let n = pts.len();
    if n < 2 {
        return None;
    }
    let at = |i: isize| pts[i.clamp(0, n as isize - 1) as usize];
    let mut pb = PathBuilder::new();
    pb.move_to(pts[0].x, pts[0].y);
    for i in 0..n as isize - 1 {
        let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
        let c1 = p1 + (p2 - p0) * (1.0 / 6.0);
        let c2 = p2 - (p3 - p1) * (1.0 / 6.0);
        pb.cubic_to(c1.x, c1.y, c2.x, c2.y, p2.x, p2.y);
    }
    pb.finish()
}

/// An open quadratic curve (eyebrows, lips, lids).
pub(crate) fn curve(a: V2, ctrl: V2, b: V2) -> Option<Path> {
    let mut pb = PathBuilder::new();
    pb.move_to(a.x, a.y);
    pb.quad_to(ctrl.x, ctrl.y, b.x, b.y);
    pb.finish()
}

/// Draws onto a pixmap with one outline width for the whole figure.
pub(crate) struct Canvas {
    pub pixmap: Pixmap,
    pub line: f32,
}

impl Canvas {
    fn paint(shader: Shader<'static>) -> Paint<'static> {
        Paint {
            shader,
            anti_alias: true,
            ..Paint::default()
        }
    }

    pub(crate) fn fill(&mut self, path: Option<Path>, c: Rgb) {
        self.fill_alpha(path, c, 255);
    }

    pub(crate) fn fill_alpha(&mut self, path: Option<Path>, c: Rgb, alpha: u8) {
        if let Some(path) = path {
            let paint = Self::paint(Shader::SolidColor(Color::from_rgba8(
                c[0], c[1], c[2], alpha,
            )));
            let t = Transform::identity();
            self.pixmap
                .fill_path(&path, &paint, FillRule::Winding, t, None);
        }
    }

    /// Fills with shading across the line `from` -> `to` (dark, base, highlight, dark) and
    /// an outline: what makes a limb look round.
    pub(crate) fn fill_shaded(&mut self, path: Option<Path>, c: Rgb, from: V2, to: V2) {
        self.fill_printed(path, c, from, to, None);
    }

    /// [`Canvas::fill_shaded`] with a print over the shading, before the outline.
    pub(crate) fn fill_printed(
        &mut self,
        path: Option<Path>,
        c: Rgb,
        from: V2,
        to: V2,
        print: Option<&Print>,
    ) {
        if let Some(path) = path {
            self.fill_gradient(&path, c, from, to);
            if let Some(print) = print {
                self.print(&path, c, print);
            }
            self.stroke_path(&path, shade(c, 0.5), self.line);
        }
    }

    /// Recolours the print's ink inside `path`, keeping the shading already painted there
    /// (each pixel's brightness relative to the garment's colour `base`).
    pub(crate) fn print(&mut self, path: &Path, base: Rgb, print: &Print) {
        let (w, h) = (self.pixmap.width(), self.pixmap.height());
        let Some(mut mask) = tiny_skia::Mask::new(w, h) else {
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
        let data = self.pixmap.data_mut();
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

    /// The shading of [`Canvas::fill_shaded`] without the outline, for parts whose edges
    /// should blend into their neighbours.
    pub(crate) fn fill_gradient(&mut self, path: &Path, c: Rgb, from: V2, to: V2) {
        let stops = vec![
            GradientStop::new(0.0, colour(shade(c, 0.7))),
            GradientStop::new(0.35, colour(c)),
            GradientStop::new(0.6, colour(shade(c, 1.12))),
            GradientStop::new(1.0, colour(shade(c, 0.72))),
        ];
        let shader = LinearGradient::new(
            point(from),
            point(to),
            stops,
            SpreadMode::Pad,
            Transform::identity(),
        )
        .unwrap_or(Shader::SolidColor(colour(c)));
        let paint = Self::paint(shader);
        self.pixmap
            .fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
    }

    /// Fills with a light centre fading to darker edges (face, head).
    pub(crate) fn fill_radial(&mut self, path: Option<Path>, c: Rgb, centre: V2, radius: f32) {
        let Some(path) = path else { return };
        let stops = vec![
            GradientStop::new(0.0, colour(shade(c, 1.06))),
            GradientStop::new(0.65, colour(c)),
            GradientStop::new(1.0, colour(shade(c, 0.82))),
        ];
        let shader = RadialGradient::new(
            point(centre),
            0.0,
            point(centre),
            radius.max(1.0),
            stops,
            SpreadMode::Pad,
            Transform::identity(),
        )
        .unwrap_or(Shader::SolidColor(colour(c)));
        let paint = Self::paint(shader);
        self.pixmap.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
        self.stroke_path(&path, shade(c, 0.55), self.line);
    }

    /// A capsule shaded across its axis.
    pub(crate) fn limb(&mut self, a: V2, ra: f32, b: V2, rb: f32, c: Rgb) {
        self.segment(a, ra, b, rb, true, c, None);
    }

    /// A shaded segment, square-ended at `b` unless `round_b`, optionally printed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn segment(
        &mut self,
        a: V2,
        ra: f32,
        b: V2,
        rb: f32,
        round_b: bool,
        c: Rgb,
        print: Option<&Print>,
    ) {
        let n = (b - a).unit().perp();
        let mid = (a + b) * 0.5;
        let r = ra.max(rb);
        // Light comes from the upper left: the highlight sits on that side.
        let lit = if n.x < 0.0 || (n.x == 0.0 && n.y < 0.0) {
            n
        } else {
            -n
        };
        let path = segment(a, ra, b, rb, round_b);
        self.fill_printed(path, c, mid - lit * r, mid + lit * r, print);
    }

    pub(crate) fn stroke(&mut self, path: Option<Path>, c: Rgb, width: f32) {
        if let Some(path) = path {
            self.stroke_path(&path, c, width);
        }
    }

    fn stroke_path(&mut self, path: &Path, c: Rgb, width: f32) {
        let paint = Self::paint(Shader::SolidColor(colour(c)));
        let stroke = Stroke {
            width: width.max(0.5),
            line_cap: tiny_skia::LineCap::Round,
            ..Stroke::default()
        };
        self.pixmap
            .stroke_path(path, &paint, &stroke, Transform::identity(), None);
    }

    /// Vertical gradient over a band of rows (walls, floor).
    pub(crate) fn band(&mut self, y0: f32, y1: f32, top: Rgb, bottom: Rgb) {
        let w = self.pixmap.width() as f32;
        let Some(rect) = tiny_skia::Rect::from_ltrb(0.0, y0, w, y1) else {
            return;
        };
        let stops = vec![
            GradientStop::new(0.0, colour(top)),
            GradientStop::new(1.0, colour(bottom)),
        ];
        let shader = LinearGradient::new(
            point(v2(0.0, y0)),
            point(v2(0.0, y1)),
            stops,
            SpreadMode::Pad,
            Transform::identity(),
        )
        .unwrap_or(Shader::SolidColor(colour(top)));
        let mut paint = Self::paint(shader);
        paint.anti_alias = false;
        self.pixmap
            .fill_rect(rect, &paint, Transform::identity(), None);
    }
}
