//! Drawing primitives: shaded capsules, ellipses and smooth outlines, recorded into a
//! [`Scene`] that the painter (tiny-skia, [`super::skia`]) replays.
//!
//! Shading (darker edges, a highlight, an outline) gives the limbs the roundness a pose
//! CNN trained on real people expects; flat cut-outs are read less reliably.

use tiny_skia::{Path, PathBuilder};

use super::body::{Local, V2};
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
    pub(crate) fn uv(&self, p: V2) -> (f32, f32) {
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

/// One drawing command; paths are tiny-skia's geometry type (lines and Beziers) whichever
/// painter replays them.
#[derive(Debug, Clone)]
pub(crate) enum Cmd {
    /// A vertical gradient over rows `y0..y1` of the whole width, without anti-aliasing.
    Band {
        y0: f32,
        y1: f32,
        top: Rgb,
        bottom: Rgb,
    },
    Fill {
        path: Path,
        colour: Rgb,
        alpha: u8,
    },
    /// Shading along `from` -> `to`: dark, base, highlight, dark ([`LINEAR_STOPS`]).
    Linear {
        path: Path,
        colour: Rgb,
        from: V2,
        to: V2,
    },
    /// A light centre fading to darker edges ([`RADIAL_STOPS`]).
    Radial {
        path: Path,
        colour: Rgb,
        centre: V2,
        radius: f32,
    },
    /// Recolours the print's ink inside `path`, keeping the shading painted there (each
    /// pixel's brightness relative to the garment's colour `base`).
    Print {
        path: Path,
        base: Rgb,
        print: Print,
    },
    /// Round-capped outline.
    Stroke {
        path: Path,
        colour: Rgb,
        width: f32,
    },
}

/// Positions and brightness factors of the linear shading's stops.
pub(crate) const LINEAR_STOPS: [(f32, f32); 4] =
    [(0.0, 0.7), (0.35, 1.0), (0.6, 1.12), (1.0, 0.72)];
/// Positions (fractions of the radius) and brightness factors of the radial shading.
pub(crate) const RADIAL_STOPS: [(f32, f32); 3] = [(0.0, 1.06), (0.65, 1.0), (1.0, 0.82)];

/// A frame's drawing, back to front.
pub(crate) type Scene = Vec<Cmd>;

/// Records a scene with one outline width for the whole figure.
pub(crate) struct Canvas {
    pub width: u32,
    pub height: u32,
    pub line: f32,
    pub scene: Scene,
    /// Which body part each stretch of the scene draws: (first command, label), in order;
    /// see [`Canvas::part`].
    pub parts: Vec<(usize, u8)>,
}

impl Canvas {
    pub(crate) fn new(width: u32, height: u32, line: f32) -> Self {
        Self {
            width,
            height,
            line,
            scene: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// What is drawn from here on belongs to body part `label` (until the next call).
    pub(crate) fn part(&mut self, label: u8) {
        self.parts.push((self.scene.len(), label));
    }

    pub(crate) fn fill(&mut self, path: Option<Path>, c: Rgb) {
        self.fill_alpha(path, c, 255);
    }

    pub(crate) fn fill_alpha(&mut self, path: Option<Path>, c: Rgb, alpha: u8) {
        if let Some(path) = path {
            self.scene.push(Cmd::Fill {
                path,
                colour: c,
                alpha,
            });
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

    /// The print's ink over what is painted inside `path` (see [`Cmd::Print`]).
    pub(crate) fn print(&mut self, path: &Path, base: Rgb, print: &Print) {
        self.scene.push(Cmd::Print {
            path: path.clone(),
            base,
            print: *print,
        });
    }

    /// The shading of [`Canvas::fill_shaded`] without the outline, for parts whose edges
    /// should blend into their neighbours.
    pub(crate) fn fill_gradient(&mut self, path: &Path, c: Rgb, from: V2, to: V2) {
        self.scene.push(Cmd::Linear {
            path: path.clone(),
            colour: c,
            from,
            to,
        });
    }

    /// Fills with a light centre fading to darker edges (face, head).
    pub(crate) fn fill_radial(&mut self, path: Option<Path>, c: Rgb, centre: V2, radius: f32) {
        let Some(path) = path else { return };
        self.scene.push(Cmd::Radial {
            path: path.clone(),
            colour: c,
            centre,
            radius: radius.max(1.0),
        });
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
        self.scene.push(Cmd::Stroke {
            path: path.clone(),
            colour: c,
            width: width.max(0.5),
        });
    }

    /// Vertical gradient over a band of rows (walls, floor).
    pub(crate) fn band(&mut self, y0: f32, y1: f32, top: Rgb, bottom: Rgb) {
        if y1 > y0 {
            self.scene.push(Cmd::Band {
                y0,
                y1,
                top,
                bottom,
            });
        }
    }
}
