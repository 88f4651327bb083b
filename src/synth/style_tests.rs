//! Tests that identities differ in shape, not only colour, and that the camera drift moves
//! image and ground truth together.

use super::identity::distance;
use super::*;
use crate::base::skeleton::{idx, NUM_LANDMARKS};

fn px(s: &Skeleton, k: usize) -> (f32, f32) {
    (s.landmarks[k].x, s.landmarks[k].y)
}

/// Pixels where the person covers the room, at `t` (drift included).
fn silhouette(p: &SyntheticPerson, t: f32, w: u32, h: u32) -> Vec<bool> {
    let layout = body::Layout::at(&p.identity, w, h, t);
    let b = body::solve(&p.identity, &p.motion.pose(t), &layout);
    let full = draw::draw(&p.identity, &b, layout.floor_y, w, h);
    let room = draw::draw_room(&p.identity, &b, layout.floor_y, w, h);
    full.data
        .chunks_exact(3)
        .zip(room.data.chunks_exact(3))
        .map(|(a, b)| a != b)
        .collect()
}

fn pixels_differing(a: &[bool], b: &[bool]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// Every cut, hair style and build changes the outline, not only the colours: that is
/// what a meta-learned model has to adapt to.
#[test]
fn clothes_hair_and_build_change_the_silhouette() {
    let base = SyntheticPerson {
        identity: Identity {
            drift: Drift::NONE,
            ..Identity::demo()
        },
        motion: Motion::dance(4),
    };
    let t = 2.0;
    let reference = silhouette(&base, t, 256, 256);
    let area = reference.iter().filter(|&&x| x).count();
    let variants: Vec<(&str, Identity)> = vec![
        (
            "long hair",
            Identity {
                hair_style: HairStyle::Long,
                ..base.identity.clone()
            },
        ),
        (
            "bun",
            Identity {
                hair_style: HairStyle::Bun,
                ..base.identity.clone()
            },
        ),
        (
            "curly",
            Identity {
                hair_style: HairStyle::Curly,
                ..base.identity.clone()
            },
        ),
        (
            "loose top",
            Identity {
                top_fit: TopFit::Loose,
                ..base.identity.clone()
            },
        ),
        (
            "shorts",
            Identity {
                bottom: Bottom::Shorts { length: 0.5 },
                ..base.identity.clone()
            },
        ),
        (
            "skirt",
            Identity {
                bottom: Bottom::Skirt { length: 0.7 },
                ..base.identity.clone()
            },
        ),
        (
            "dress",
            Identity {
                bottom: Bottom::Dress { length: 0.7 },
                ..base.identity.clone()
            },
        ),
        (
            "heavy build",
            Identity {
                bulk: 1.3,
                girth: 1.2,
                ..base.identity.clone()
            },
        ),
    ];
    for (name, identity) in variants {
        let p = SyntheticPerson {
            identity,
            ..base.clone()
        };
        let d = pixels_differing(&silhouette(&p, t, 256, 256), &reference);
        assert!(
            d * 200 > area,
            "{name}: outline changed by only {d} of {area} pixels"
        );
    }
}

#[test]
fn random_people_vary_in_cut_print_and_hair() {
    let ids: Vec<Identity> = (0..60).map(Identity::random).collect();
    let count = |f: &dyn Fn(&Identity) -> bool| ids.iter().filter(|i| f(i)).count();
    assert!(count(&|i| i.top_fit == TopFit::Loose) >= 10);
    assert!(count(&|i| matches!(i.bottom, Bottom::Trousers)) >= 10);
    assert!(count(&|i| matches!(i.bottom, Bottom::Shorts { .. })) >= 5);
    assert!(count(&|i| matches!(i.bottom, Bottom::Skirt { .. } | Bottom::Dress { .. })) >= 10);
    for kind in [PatternKind::Stripes, PatternKind::Checks, PatternKind::Dots] {
        assert!(count(&|i| i.top_pattern.kind == kind || i.bottom_pattern.kind == kind) >= 5);
    }
    for style in [
        HairStyle::Short,
        HairStyle::Long,
        HairStyle::Bun,
        HairStyle::Curly,
    ] {
        assert!(count(&|i| i.hair_style == style) >= 5, "{style:?} is rare");
    }
    let bulks: Vec<f32> = ids.iter().map(|i| i.bulk).collect();
    let (lo, hi) = bulks
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi - lo > 0.3, "builds barely vary: {lo}..{hi}");
}

/// A printed shirt shows the print's colour on the chest; a plain one does not.
#[test]
fn prints_show_on_the_clothes() {
    let print = Pattern {
        kind: PatternKind::Stripes,
        colour: [240, 240, 60],
        period: 0.05,
        angle: 0.0,
    };
    let plain = SyntheticPerson::demo();
    let striped = SyntheticPerson {
        identity: Identity {
            top_pattern: print,
            ..Identity::demo()
        },
        ..plain.clone()
    };
    let chest_ink = |p: &SyntheticPerson| {
        let (img, s) = p.render(1.0, 256, 256);
        let (a, b) = (px(&s, idx::LEFT_SHOULDER), px(&s, idx::RIGHT_HIP));
        let (c, d) = (px(&s, idx::RIGHT_SHOULDER), px(&s, idx::LEFT_HIP));
        let (x0, x1) = (a.0.min(c.0) as u32 + 4, a.0.max(c.0) as u32 - 4);
        let (y0, y1) = (a.1.min(c.1) as u32 + 8, b.1.max(d.1) as u32 - 8);
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                n += (distance(img.pixel(x, y), print.colour) < 0.25) as usize;
            }
        }
        n
    };
    assert_eq!(chest_ink(&plain), 0);
    assert!(chest_ink(&striped) > 40, "no stripes on the chest");
    // Each kind puts ink on part of the cloth, not none or all of it.
    for kind in [PatternKind::Stripes, PatternKind::Checks, PatternKind::Dots] {
        let p = Pattern { kind, ..print };
        let n = 100;
        let inked = (0..n * n)
            .map(|k| p.ink((k % n) as f32 * 0.003, (k / n) as f32 * 0.003, 0.002))
            .sum::<f32>()
            / (n * n) as f32;
        assert!((0.15..0.6).contains(&inked), "{kind:?} covers {inked}");
    }
}

/// The camera drift moves the drawing and the ground truth by the same similarity.
#[test]
fn drift_moves_image_and_skeleton_together() {
    let p = SyntheticPerson::random(3);
    // The same person with the drift frozen at its rest position (same margins).
    let still = SyntheticPerson {
        identity: Identity {
            drift: Drift {
                freq: [0.0; 3],
                phase: [0.0; 3],
                ..p.identity.drift
            },
            ..p.identity.clone()
        },
        ..p.clone()
    };
    let (w, h) = (256u32, 256u32);
    let mut largest = 0f32;
    for t in [0.0f32, 5.0, 10.0, 17.0, 25.0] {
        let (zoom, [dx, dy]) = p.identity.drift.at(t);
        let moved = |x: f32, y: f32| {
            (
                0.5 * w as f32 + (x - 0.5 * w as f32) * zoom + dx * w as f32,
                0.5 * h as f32 + (y - 0.5 * h as f32) * zoom + dy * h as f32,
            )
        };
        let (a, b) = (p.skeleton(t, w, h), still.skeleton(t, w, h));
        for k in 0..NUM_LANDMARKS {
            let (x, y) = moved(b.landmarks[k].x, b.landmarks[k].y);
            let (ax, ay) = px(&a, k);
            assert!(
                (ax - x).abs() < 0.01 && (ay - y).abs() < 0.01,
                "t={t} landmark {k}"
            );
            largest = largest.max((ax - b.landmarks[k].x).hypot(ay - b.landmarks[k].y));
        }
        // The drawn person's centroid moves the same way.
        let centroid = |m: &[bool]| {
            let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
            for (i, _) in m.iter().enumerate().filter(|(_, &v)| v) {
                sx += (i as u32 % w) as f32 + 0.5;
                sy += (i as u32 / w) as f32 + 0.5;
                n += 1.0;
            }
            (sx / n, sy / n)
        };
        let (cx, cy) = centroid(&silhouette(&p, t, w, h));
        let (sx, sy) = centroid(&silhouette(&still, t, w, h));
        let (ex, ey) = moved(sx, sy);
        assert!(
            (cx - ex).abs() < 0.75 && (cy - ey).abs() < 0.75,
            "t={t}: ({cx}, {cy}) vs ({ex}, {ey})"
        );
    }
    assert!(
        largest > 0.02 * w as f32,
        "the drift barely moves: {largest} px"
    );
}
