//! Rasterizes [`Scene`]s with tch, so training data can be drawn on the GPU in batches.
//!
//! Paths are flattened to polygons with a fixed number of points per curve, so one
//! person's scenes at different times have the same structure and batch over time: each
//! command is then a handful of tensor ops over (frames, pixels). A pixel's coverage is
//! its distance to the outline through a one-pixel ramp; shading and prints use the
//! tiny-skia painter's stops and [`Pattern::ink`]'s formula. It differs from tiny-skia by
//! flattened curves, round joins and even-odd filling: a few levels at edges.

use tch::{Device, Kind, Tensor};
use tiny_skia::{Path, PathSegment};

use super::body::{v2, V2};
use super::identity::{shade, Rgb};
use super::shapes::{Cmd, Scene, LINEAR_STOPS, RADIAL_STOPS};
use super::style::PatternKind;

/// Points per Bezier curve: the outlines are at most a few hundred pixels long.
const CURVE_STEPS: usize = 8;

/// The edges (x0, y0, x1, y1) of `path`; `fill` closes every subpath as filling does.
fn edges(path: &Path, fill: bool) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    let mut sub: Vec<V2> = Vec::new();
    let finish = |sub: &mut Vec<V2>, closed: bool, out: &mut Vec<[f32; 4]>| {
        for w in sub.windows(2) {
            out.push([w[0].x, w[0].y, w[1].x, w[1].y]);
        }
        if (closed || fill) && sub.len() > 2 {
            let (a, b) = (sub[sub.len() - 1], sub[0]);
            out.push([a.x, a.y, b.x, b.y]);
        }
        sub.clear();
    };
    let p = |q: tiny_skia::Point| v2(q.x, q.y);
    for seg in path.segments() {
        match seg {
            PathSegment::MoveTo(q) => {
                finish(&mut sub, false, &mut out);
                sub.push(p(q));
            }
            PathSegment::LineTo(q) => sub.push(p(q)),
            PathSegment::QuadTo(c, q) => {
                let a = *sub.last().unwrap_or(&p(c));
                let (c, q) = (p(c), p(q));
                for k in 1..=CURVE_STEPS {
                    let t = k as f32 / CURVE_STEPS as f32;
                    let s = 1.0 - t;
                    sub.push(a * (s * s) + c * (2.0 * s * t) + q * (t * t));
                }
            }
            PathSegment::CubicTo(c1, c2, q) => {
                let a = *sub.last().unwrap_or(&p(c1));
                let (c1, c2, q) = (p(c1), p(c2), p(q));
                for k in 1..=CURVE_STEPS {
                    let t = k as f32 / CURVE_STEPS as f32;
                    let s = 1.0 - t;
                    sub.push(
                        a * (s * s * s)
                            + c1 * (3.0 * s * s * t)
                            + c2 * (3.0 * s * t * t)
                            + q * (t * t * t),
                    );
                }
            }
            PathSegment::Close => {
                let start = sub.first().copied();
                finish(&mut sub, true, &mut out);
                // A path may continue from the closed subpath's start.
                sub.extend(start);
            }
        }
    }
    finish(&mut sub, false, &mut out);
    out
}

/// What must match for two frames' commands to batch: kind and edge count.
fn signature(scene: &Scene) -> Vec<(u8, usize)> {
    scene
        .iter()
        .map(|c| match c {
            Cmd::Band { .. } => (0, 0),
            Cmd::Fill { path, .. } => (1, edges(path, true).len()),
            Cmd::Linear { path, .. } => (2, edges(path, true).len()),
            Cmd::Radial { path, .. } => (3, edges(path, true).len()),
            Cmd::Print { path, print, .. } => {
                (4 + print.pattern.kind as u8, edges(path, true).len())
            }
            Cmd::Stroke { path, .. } => (10, edges(path, false).len()),
        })
        .collect()
}

/// Draws `scenes` (frames of one `width` x `height` size) into a float tensor
/// (N, 3, H, W) in 0..1 on `device`. Runs of frames with the same structure go as one
/// batch; an empty slice gives an empty batch.
pub(crate) fn rasterize(scenes: &[Scene], width: u32, height: u32, device: Device) -> Tensor {
    let _guard = tch::no_grad_guard();
    let (w, h) = (width as i64, height as i64);
    let mut parts = Vec::new();
    let mut start = 0;
    while start < scenes.len() {
        let sig = signature(&scenes[start]);
        // Small batches on the CPU stay in cache; the GPU wants large ones.
        let most = if device == Device::Cpu { 8 } else { 256 };
        let mut end = start + 1;
        while end < scenes.len() && end - start < most && signature(&scenes[end]) == sig {
            end += 1;
        }
        parts.push(Batch::new(&scenes[start..end], w, h, device).draw());
        start = end;
    }
    if parts.is_empty() {
        return Tensor::zeros([0, 3, h, w], (Kind::Float, device));
    }
    (Tensor::cat(&parts, 0).round() / 255.0).clamp(0.0, 1.0)
}

/// Frames with the same structure, drawn command by command.
struct Batch<'a> {
    scenes: &'a [Scene],
    n: i64,
    w: i64,
    h: i64,
    device: Device,
    /// (N, 3, H, W), 0..255.
    img: Tensor,
}

/// A crop of the frame: pixel-centre coordinates of the rows and columns it spans.
struct Region {
    x0: i64,
    y0: i64,
    cw: i64,
    ch: i64,
    /// (1, 1, 1, cw) and (1, 1, ch, 1).
    px: Tensor,
    py: Tensor,
}

fn rgb(c: Rgb) -> [f32; 3] {
    [c[0] as f32, c[1] as f32, c[2] as f32]
}

fn luma(img: &Tensor) -> Tensor {
    let weights = Tensor::from_slice(&[0.299f32, 0.587, 0.114])
        .to(img.device())
        .view([1, 3, 1, 1]);
    (img * weights).sum_dim_intlist(1, true, Kind::Float)
}

/// Piecewise-linear interpolation between stop colours ((position, (N, 3, 1, 1))) at `t`.
fn ramp(t: &Tensor, stops: &[(f32, Tensor)]) -> Tensor {
    let mut out = stops[0].1.shallow_clone() + t.zeros_like();
    for pair in stops.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let w = ((t - a.0 as f64) / ((b.0 - a.0).max(1e-6) as f64)).clamp(0.0, 1.0);
        out += (&b.1 - &a.1) * w;
    }
    out
}

impl<'a> Batch<'a> {
    fn new(scenes: &'a [Scene], w: i64, h: i64, device: Device) -> Self {
        let n = scenes.len() as i64;
        Self {
            scenes,
            n,
            w,
            h,
            device,
            img: Tensor::zeros([n, 3, h, w], (Kind::Float, device)),
        }
    }

    /// Command `k`'s per-frame values as an (N, K, 1, 1) tensor.
    fn per_frame<const K: usize>(&self, k: usize, f: impl Fn(&Cmd) -> [f32; K]) -> Tensor {
        let v: Vec<f32> = self.scenes.iter().flat_map(|s| f(&s[k])).collect();
        Tensor::from_slice(&v)
            .to(self.device)
            .view([self.n, K as i64, 1, 1])
    }

    /// Command `k`'s edges over all frames as (N, E, 1, 1) tensors x0, y0, x1, y1, and the
    /// region they cover widened by `pad` pixels (None when off the frame).
    fn outline(&self, k: usize, fill: bool, pad: f32) -> Option<([Tensor; 4], Region)> {
        let all: Vec<Vec<[f32; 4]>> = self
            .scenes
            .iter()
            .map(|s| match &s[k] {
                Cmd::Fill { path, .. }
                | Cmd::Linear { path, .. }
                | Cmd::Radial { path, .. }
                | Cmd::Print { path, .. }
                | Cmd::Stroke { path, .. } => edges(path, fill),
                Cmd::Band { .. } => Vec::new(),
            })
            .collect();
        let e = all[0].len() as i64;
        if e == 0 {
            return None;
        }
        let (mut lo, mut hi) = (v2(f32::MAX, f32::MAX), v2(f32::MIN, f32::MIN));
        for q in all.iter().flatten() {
            lo = v2(lo.x.min(q[0]).min(q[2]), lo.y.min(q[1]).min(q[3]));
            hi = v2(hi.x.max(q[0]).max(q[2]), hi.y.max(q[1]).max(q[3]));
        }
        let region = self.region(lo.x - pad, lo.y - pad, hi.x + pad, hi.y + pad)?;
        let flat: Vec<f32> = all.iter().flatten().flatten().copied().collect();
        let t = Tensor::from_slice(&flat)
            .to(self.device)
            .view([self.n, e, 4, 1, 1]);
        let c = |i: i64| t.select(2, i);
        Some(([c(0), c(1), c(2), c(3)], region))
    }

    fn region(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> Option<Region> {
        let x0 = (x0.floor().max(0.0) as i64).min(self.w);
        let y0 = (y0.floor().max(0.0) as i64).min(self.h);
        let x1 = (x1.ceil().max(0.0) as i64).min(self.w);
        let y1 = (y1.ceil().max(0.0) as i64).min(self.h);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let opts = (Kind::Float, self.device);
        Some(Region {
            x0,
            y0,
            cw: x1 - x0,
            ch: y1 - y0,
            px: (Tensor::arange(x1 - x0, opts) + (x0 as f64 + 0.5)).view([1, 1, 1, x1 - x0]),
            py: (Tensor::arange(y1 - y0, opts) + (y0 as f64 + 0.5)).view([1, 1, y1 - y0, 1]),
        })
    }

    /// Distance (N, 1, h, w) from each pixel to the nearest edge, and (for fills) whether
    /// the pixel is inside (even-odd).
    fn distance(&self, e: &[Tensor; 4], r: &Region, inside: bool) -> (Tensor, Option<Tensor>) {
        let [ax, ay, bx, by] = e;
        let (ex, ey) = (bx - ax, by - ay);
        let (wx, wy) = (&r.px - ax, &r.py - ay);
        let len2 = (&ex * &ex + &ey * &ey).clamp_min(1e-12);
        let t = ((&wx * &ex + &wy * &ey) / len2).clamp(0.0, 1.0);
        let (dx, dy) = (&wx - &ex * &t, &wy - &ey * &t);
        let d2 = (&dx * &dx + &dy * &dy).amin(&[1][..], true);
        let inside = inside.then(|| {
            let crosses = ay.gt_tensor(&r.py).logical_xor(&by.gt_tensor(&r.py));
            let safe_ey = ey.where_self(&ey.abs().gt(1e-12), &(ey.zeros_like() + 1e-12));
            let x = ax + &wy * &ex / safe_ey;
            let hits = crosses.logical_and(&r.px.lt_tensor(&x));
            hits.to_kind(Kind::Int64)
                .sum_dim_intlist(1, true, Kind::Int64)
                .remainder(2)
                .eq(1)
        });
        (d2.sqrt(), inside)
    }

    /// Fill coverage (N, 1, h, w) of command `k`.
    fn fill_coverage(&self, k: usize) -> Option<(Tensor, Region)> {
        let (e, r) = self.outline(k, true, 1.5)?;
        let (d, inside) = self.distance(&e, &r, true);
        let sd = d.where_self(&inside?.logical_not(), &(-&d));
        Some(((-sd + 0.5).clamp(0.0, 1.0), r))
    }

    /// Paints `colour` (N, 3, h, w or broadcastable) over the region with `coverage`.
    fn blend(&mut self, r: &Region, colour: &Tensor, coverage: &Tensor) {
        let mut crop = self.img.narrow(2, r.y0, r.ch).narrow(3, r.x0, r.cw);
        let new = &crop + (colour - &crop) * coverage;
        crop.copy_(&new);
    }

    fn crop(&self, r: &Region) -> Tensor {
        self.img.narrow(2, r.y0, r.ch).narrow(3, r.x0, r.cw)
    }

    fn stops(&self, k: usize, table: &[(f32, f32)]) -> Vec<(f32, Tensor)> {
        table
            .iter()
            .map(|&(at, f)| {
                let c = self.per_frame(k, |c| match c {
                    Cmd::Linear { colour, .. } | Cmd::Radial { colour, .. } => {
                        rgb(shade(*colour, f))
                    }
                    _ => [0.0; 3],
                });
                (at, c)
            })
            .collect()
    }

    fn draw(mut self) -> Tensor {
        for k in 0..self.scenes[0].len() {
            self.command(k);
        }
        self.img
    }

    fn command(&mut self, k: usize) {
        match &self.scenes[0][k] {
            Cmd::Band { .. } => {
                let Some(r) = self.region(0.0, 0.0, self.w as f32, self.h as f32) else {
                    return;
                };
                let get = |c: &Cmd| match c {
                    Cmd::Band {
                        y0,
                        y1,
                        top,
                        bottom,
                    } => {
                        let [a, b, c] = rgb(*top);
                        let [d, e, f] = rgb(*bottom);
                        [*y0, *y1, a, b, c, d, e, f]
                    }
                    _ => [0.0; 8],
                };
                let p = self.per_frame(k, get);
                let (y0, y1) = (p.narrow(1, 0, 1), p.narrow(1, 1, 1));
                let cover = r.py.ge_tensor(&y0).logical_and(&r.py.lt_tensor(&y1));
                let t = ((&r.py - &y0) / (&y1 - &y0).clamp_min(1e-6)).clamp(0.0, 1.0);
                let colour = ramp(&t, &[(0.0, p.narrow(1, 2, 3)), (1.0, p.narrow(1, 5, 3))]);
                self.blend(&r, &colour, &cover.to_kind(Kind::Float));
            }
            Cmd::Fill { .. } => {
                let Some((cov, r)) = self.fill_coverage(k) else {
                    return;
                };
                let p = self.per_frame(k, |c| match c {
                    Cmd::Fill { colour, alpha, .. } => {
                        let [a, b, c] = rgb(*colour);
                        [a, b, c, *alpha as f32 / 255.0]
                    }
                    _ => [0.0; 4],
                });
                self.blend(&r, &p.narrow(1, 0, 3), &(cov * p.narrow(1, 3, 1)));
            }
            Cmd::Linear { .. } => {
                let Some((cov, r)) = self.fill_coverage(k) else {
                    return;
                };
                let p = self.per_frame(k, |c| match c {
                    Cmd::Linear { from, to, .. } => [from.x, from.y, to.x - from.x, to.y - from.y],
                    _ => [0.0; 4],
                });
                let (fx, fy) = (p.narrow(1, 0, 1), p.narrow(1, 1, 1));
                let (dx, dy) = (p.narrow(1, 2, 1), p.narrow(1, 3, 1));
                let len2 = (&dx * &dx + &dy * &dy).clamp_min(1e-6);
                let t = (((&r.px - fx) * dx + (&r.py - fy) * dy) / len2).clamp(0.0, 1.0);
                let colour = ramp(&t, &self.stops(k, &LINEAR_STOPS));
                self.blend(&r, &colour, &cov);
            }
            Cmd::Radial { .. } => {
                let Some((cov, r)) = self.fill_coverage(k) else {
                    return;
                };
                let p = self.per_frame(k, |c| match c {
                    Cmd::Radial { centre, radius, .. } => [centre.x, centre.y, *radius],
                    _ => [0.0; 3],
                });
                let (cx, cy, rad) = (p.narrow(1, 0, 1), p.narrow(1, 1, 1), p.narrow(1, 2, 1));
                let (dx, dy) = (&r.px - cx, &r.py - cy);
                let t = ((&dx * &dx + &dy * &dy).sqrt() / rad).clamp(0.0, 1.0);
                let colour = ramp(&t, &self.stops(k, &RADIAL_STOPS));
                self.blend(&r, &colour, &cov);
            }
            Cmd::Print { print, .. } => {
                let pattern = print.pattern;
                let Some((cov, r)) = self.fill_coverage(k) else {
                    return;
                };
                let p = self.per_frame(k, |c| match c {
                    Cmd::Print { base, print, .. } => {
                        let f = print.frame;
                        let b = super::shapes::luma(*base).max(8.0);
                        [f.o.x, f.o.y, f.ex.x, f.ex.y, f.ey.x, f.ey.y, b]
                    }
                    _ => [0.0; 7],
                });
                let col = |i: i64| p.narrow(1, i, 1);
                let (ox, oy) = (col(0), col(1));
                let (exx, exy, eyx, eyy) = (col(2), col(3), col(4), col(5));
                let (dx, dy) = (&r.px - ox, &r.py - oy);
                let ex2 = (&exx * &exx + &exy * &exy).clamp_min(1e-9);
                let ey2 = (&eyx * &eyx + &eyy * &eyy).clamp_min(1e-9);
                let u = (&dx * &exx + &dy * &exy) / &ex2;
                let v = (&dx * &eyx + &dy * &eyy) / ey2;
                let aa = ex2.sqrt().reciprocal();
                let ink = ink(pattern.kind, pattern.period, pattern.angle, &u, &v, &aa);
                let crop = self.crop(&r);
                let gain = (luma(&crop) / col(6)).clamp(0.3, 1.6);
                let [a, b, c] = rgb(pattern.colour);
                let target = (Tensor::from_slice(&[a, b, c])
                    .to(self.device)
                    .view([1, 3, 1, 1])
                    * gain)
                    .clamp_max(255.0);
                self.blend(&r, &target, &(ink * cov));
            }
            Cmd::Stroke { .. } => {
                let widest = self
                    .scenes
                    .iter()
                    .map(|s| match &s[k] {
                        Cmd::Stroke { width, .. } => *width,
                        _ => 0.0,
                    })
                    .fold(0.0, f32::max);
                let Some((e, r)) = self.outline(k, false, 0.5 * widest + 1.5) else {
                    return;
                };
                let (d, _) = self.distance(&e, &r, false);
                let p = self.per_frame(k, |c| match c {
                    Cmd::Stroke { colour, width, .. } => {
                        let [a, b, c] = rgb(*colour);
                        [a, b, c, *width]
                    }
                    _ => [0.0; 4],
                });
                let cov = (p.narrow(1, 3, 1) * 0.5 + 0.5 - d).clamp(0.0, 1.0);
                self.blend(&r, &p.narrow(1, 0, 3), &cov);
            }
        }
    }
}

/// [`super::style::Pattern::ink`] on tensors of part coordinates.
fn ink(kind: PatternKind, period: f32, angle: f32, u: &Tensor, v: &Tensor, aa: &Tensor) -> Tensor {
    let (s, c) = angle.sin_cos();
    let (s, c) = (s as f64, c as f64);
    let a = u * c - v * s;
    let b = u * s + v * c;
    let p = period.max(1e-4) as f64;
    let aa = aa.clamp_min(1e-6);
    let frac = |x: &Tensor| {
        let y = x / p;
        &y - y.floor()
    };
    let band = |x: &Tensor| {
        let d = (frac(x) - 0.5).abs() * p;
        ((-d + 0.25 * p) / &aa + 0.5).clamp(0.0, 1.0)
    };
    match kind {
        PatternKind::Plain => u.zeros_like(),
        PatternKind::Stripes => band(&b),
        PatternKind::Checks => {
            let (x, y) = (band(&a), band(&b));
            &x + &y - &x * &y * 2.0
        }
        PatternKind::Dots => {
            let du = (frac(&a) - 0.5) * p;
            let dv = (frac(&b) - 0.5) * p;
            let r = (&du * &du + &dv * &dv).sqrt();
            ((-r + 0.28 * p) / &aa + 0.5).clamp(0.0, 1.0)
        }
    }
}
