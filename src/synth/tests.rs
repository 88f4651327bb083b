use std::time::Duration;

use super::identity::distance;
use super::*;
use crate::base::skeleton::{idx, NUM_LANDMARKS};
use crate::stream::endpoints::FrameSource;

/// Times over 20 s of dance, every 0.1 s.
fn times() -> impl Iterator<Item = f32> {
    (0..200).map(|i| i as f32 * 0.1)
}

fn people() -> Vec<SyntheticPerson> {
    std::iter::once(SyntheticPerson::demo())
        .chain((0..12).map(SyntheticPerson::random))
        .collect()
}

fn px(s: &Skeleton, k: usize) -> (f32, f32) {
    (s.landmarks[k].x, s.landmarks[k].y)
}

#[test]
fn same_seed_and_time_give_the_same_frame() {
    let a = SyntheticPerson::random(7);
    let b = SyntheticPerson::random(7);
    assert_eq!(a, b);
    let (ia, sa) = a.render(3.25, 320, 240);
    let (ib, sb) = b.render(3.25, 320, 240);
    assert_eq!(ia, ib);
    assert_eq!(sa, sb);
    assert_eq!(sa, a.skeleton(3.25, 320, 240));
}

#[test]
fn different_seeds_give_different_people_and_dances() {
    let ids: Vec<Identity> = (0..20).map(Identity::random).collect();
    for i in 0..ids.len() {
        for j in i + 1..ids.len() {
            assert_ne!(ids[i], ids[j], "seeds {i} and {j}");
        }
    }
    let skins: std::collections::HashSet<_> = ids.iter().map(|i| i.skin).collect();
    assert!(skins.len() >= 15, "skin tones barely vary: {skins:?}");
    let (a, b) = (Motion::dance(1), Motion::dance(2));
    assert_ne!(a.pose(1.0), b.pose(1.0));
    let (ia, _) = SyntheticPerson::random(1).render(1.0, 128, 128);
    let (ib, _) = SyntheticPerson::random(2).render(1.0, 128, 128);
    assert_ne!(ia, ib);
}

#[test]
fn random_identities_are_plausible() {
    for seed in 0..300 {
        let id = Identity::random(seed);
        let [r, g, b] = id.skin;
        // Skin across the human range is always warm: red over green over blue.
        assert!(r >= g && g >= b, "seed {seed}: skin {:?}", id.skin);
        let wall = [id.backdrop.wall_top, id.backdrop.wall_bottom];
        for w in wall {
            assert!(
                distance(id.shirt, w) > 0.2,
                "seed {seed}: shirt like the wall"
            );
            assert!(
                distance(id.trousers, w) > 0.15,
                "seed {seed}: trousers like the wall"
            );
        }
        assert!(
            distance(id.shirt, id.skin) > 0.2,
            "seed {seed}: shirt like skin"
        );
        assert!(
            distance(id.shoes, id.backdrop.floor) > 0.15,
            "seed {seed}: shoes like the floor"
        );
        assert!(
            (0.58..=0.86).contains(&id.height),
            "seed {seed}: height {}",
            id.height
        );
        assert!(
            (0.95..=1.05).contains(&id.stature()),
            "seed {seed}: stature {}",
            id.stature()
        );
    }
}

#[test]
fn joint_angles_stay_in_anatomical_ranges() {
    let deg = std::f32::consts::PI / 180.0;
    for seed in 0..20 {
        let m = Motion::dance(seed);
        for t in times() {
            let p = m.pose(t);
            for a in &p.arms {
                assert!(
                    (-1e-4..=100.0 * deg).contains(&a.abduction),
                    "abduction {}",
                    a.abduction / deg
                );
                assert!(
                    (-1e-4..=105.0 * deg).contains(&a.elbow),
                    "elbow {}",
                    a.elbow / deg
                );
                assert!((-1e-4..=25.0 * deg).contains(&a.forward));
            }
            for l in &p.legs {
                assert!(
                    (-1e-4..=90.0 * deg).contains(&l.knee),
                    "knee {}",
                    l.knee / deg
                );
                // Thighs forward, shins back: the knee bends at least as much as the hip.
                assert!(l.flexion >= -1e-4 && l.flexion <= l.knee + 1e-4);
            }
            assert!(p.head_roll.abs() <= 9.0 * deg + 1e-4);
        }
    }
}

#[test]
fn landmarks_stay_inside_the_frame() {
    for (w, h) in [(512, 512), (640, 360), (360, 640), (64, 64)] {
        for p in people() {
            for t in times() {
                let s = p.skeleton(t, w, h);
                assert!(s.found());
                for (k, l) in s.landmarks.iter().enumerate() {
                    assert!(
                        l.x >= 0.0 && l.y >= 0.0 && l.x < w as f32 && l.y < h as f32,
                        "{w}x{h} t={t}: {} at ({}, {})",
                        crate::base::skeleton::LANDMARK_NAMES[k],
                        l.x,
                        l.y
                    );
                    assert_eq!((l.visibility, l.presence), (1.0, 1.0));
                }
            }
        }
    }
}

/// The whole drawn figure, not only its landmarks, stays off the frame's edges.
#[test]
fn the_drawn_person_stays_inside_the_frame() {
    for (w, h) in [(256, 256), (320, 180), (180, 320)] {
        for p in people().iter().take(6) {
            for t in times().step_by(7) {
                let layout = body::Layout::at(&p.identity, w, h, t);
                let b = body::solve(&p.identity, &p.motion.pose(t), &layout);
                let full = draw::draw(&p.identity, &b, layout.floor_y, w, h);
                let room = draw::draw_room(&p.identity, &b, layout.floor_y, w, h);
                for x in 0..w {
                    for y in [0, 1, h - 2, h - 1] {
                        assert_eq!(
                            full.pixel(x, y),
                            room.pixel(x, y),
                            "{w}x{h} t={t} at ({x}, {y})"
                        );
                    }
                }
                for y in 0..h {
                    for x in [0, 1, w - 2, w - 1] {
                        assert_eq!(
                            full.pixel(x, y),
                            room.pixel(x, y),
                            "{w}x{h} t={t} at ({x}, {y})"
                        );
                    }
                }
            }
        }
    }
}

/// BlazePose's convention: the person's left is on the image's right when they face us.
#[test]
fn left_landmarks_are_on_the_image_right() {
    let pairs = [
        (2, 5),
        (7, 8),
        (9, 10),
        (11, 12),
        (15, 16),
        (23, 24),
        (27, 28),
        (31, 32),
    ];
    for p in people() {
        for t in times() {
            let s = p.skeleton(t, 512, 512);
            for (l, r) in pairs {
                assert!(
                    px(&s, l).0 > px(&s, r).0,
                    "t={t}: landmark {l} not right of {r}"
                );
            }
            // Inner eye corners lie between the eyes and the nose, outer ones beyond.
            let x = |k| px(&s, k).0;
            assert!(x(3) > x(2) && x(2) > x(1) && x(1) > x(4) && x(4) > x(5) && x(5) > x(6));
        }
    }
}

#[test]
fn motion_is_continuous() {
    let dt = 1.0 / 30.0;
    for p in people() {
        let mut prev = p.skeleton(0.0, 512, 512);
        for i in 1..600 {
            let s = p.skeleton(i as f32 * dt, 512, 512);
            for (k, (a, b)) in s.landmarks.iter().zip(&prev.landmarks).enumerate() {
                let d = a.distance(b);
                assert!(d < 0.05 * 512.0, "frame {i}: landmark {k} jumped {d} px");
            }
            prev = s;
        }
    }
}

#[test]
fn the_person_moves() {
    let p = SyntheticPerson::demo();
    let a = p.skeleton(0.0, 512, 512);
    let b = p.skeleton(1.0, 512, 512);
    let moved = (0..NUM_LANDMARKS).filter(|&k| a.landmarks[k].distance(&b.landmarks[k]) > 5.0);
    assert!(moved.count() >= 6, "barely any motion in a second");
}

/// The drawing matches the ground truth: skin at the nose, dark pupils at the eyes, skin at
/// the wrists, shirt between shoulders and hips, and the ankles over the floor.
#[test]
fn landmarks_sit_on_the_drawn_parts() {
    for p in people() {
        let id = &p.identity;
        for t in [0.0, 1.7, 4.2, 9.9] {
            let (img, s) = p.render(t, 512, 512);
            let at = |x: f32, y: f32| img.pixel(x.round() as u32, y.round() as u32);
            let (nx, ny) = px(&s, idx::NOSE);
            // Within a pixel: a small person's nose tip is a few pixels across.
            let nose = (0..9)
                .map(|k| at(nx + (k % 3) as f32 - 1.0, ny + (k / 3) as f32 - 1.0))
                .min_by(|&a, &b| distance(a, id.skin).total_cmp(&distance(b, id.skin)))
                .unwrap();
            assert!(
                distance(nose, id.skin) < 0.12,
                "t={t}: nose pixel {nose:?} vs skin {:?}",
                id.skin
            );
            for eye in [2, 5] {
                let (x, y) = px(&s, eye);
                let c = at(x, y);
                let on_eye = distance(c, id.iris) < 0.2 || distance(c, [10, 8, 8]) < 0.2;
                assert!(on_eye, "t={t}: eye centre {c:?}, iris {:?}", id.iris);
            }
            for wrist in [15, 16] {
                let (x, y) = px(&s, wrist);
                assert!(
                    distance(at(x, y), id.skin) < 0.2,
                    "t={t}: wrist pixel {:?}",
                    at(x, y)
                );
            }
            let (sx, sy) = px(&s, idx::LEFT_SHOULDER);
            let (hx, hy) = px(&s, idx::RIGHT_HIP);
            let chest = at(0.5 * (sx + hx), 0.5 * (sy + hy));
            // A print keeps the shading: its colour appears lightened or darkened.
            let on_print = (5..16).any(|k| {
                let shaded = super::identity::shade(id.top_pattern.colour, k as f32 / 10.0);
                distance(chest, shaded) < 0.12
            });
            assert!(
                distance(chest, id.shirt) < 0.2 || on_print,
                "t={t}: chest {chest:?} vs shirt {:?}",
                id.shirt
            );
        }
    }
}

/// The demo dancer fills most of the frame, centred; random people vary in size and place
/// but never shrink to a speck.
#[test]
fn framing_varies_between_people_but_the_demo_is_centred() {
    let mut xs = Vec::new();
    for p in people() {
        for (w, h) in [(512, 512), (640, 360), (1280, 720)] {
            let layout = body::Layout::new(&p.identity, w, h);
            let standing = p.identity.stature() * layout.scale / h as f32;
            let s = p.skeleton(0.0, w, h);
            let cx = 0.5 * (s.landmarks[idx::LEFT_HIP].x + s.landmarks[idx::RIGHT_HIP].x);
            let off = (cx - 0.5 * w as f32) / w as f32;
            if p == SyntheticPerson::demo() {
                assert!(
                    (0.72..=0.86).contains(&standing),
                    "{w}x{h}: fills {standing}"
                );
                assert!(off.abs() < 0.05, "demo not centred: {cx}");
            } else {
                assert!(
                    (0.5..=0.86).contains(&standing),
                    "{w}x{h}: fills {standing}"
                );
            }
            if (w, h) == (512, 512) {
                xs.push(off);
            }
        }
    }
    let spread =
        xs.iter().copied().fold(f32::MIN, f32::max) - xs.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread > 0.08, "everyone stands in the same place: {xs:?}");
}

#[test]
fn tiny_and_odd_sizes_do_not_panic() {
    let p = SyntheticPerson::random(3);
    for (w, h) in [(0, 0), (1, 1), (16, 16), (16, 900), (900, 16), (17, 23)] {
        let (img, s) = p.render(2.0, w, h);
        assert_eq!((img.width, img.height), (w.max(MIN_SIZE), h.max(MIN_SIZE)));
        assert!(s
            .landmarks
            .iter()
            .all(|l| l.x.is_finite() && l.y.is_finite() && l.z.is_finite()));
    }
}

#[test]
fn source_yields_timed_frames_with_ground_truth() {
    let person = SyntheticPerson::random(5);
    let mut src = SyntheticSource::new(person.clone(), 96, 64, (30000, 1001), 5);
    assert_eq!(src.len(), 5);
    let mut n = 0;
    while let Some(f) = src.next_frame().unwrap() {
        assert_eq!(f.index, n);
        let pts = f.pts.unwrap();
        assert_eq!(pts, Duration::from_nanos(n * 1001 * 1_000_000_000 / 30000));
        assert_eq!(
            f.duration,
            Some(Duration::from_nanos(1001 * 1_000_000_000 / 30000))
        );
        let (img, truth) = person.render(pts.as_secs_f32(), 96, 64);
        assert_eq!(f.image, img);
        assert_eq!(src.ground_truth(n), truth);
        n += 1;
    }
    assert_eq!(n, 5);
    assert!(src.next_frame().unwrap().is_none());
    // A nonsensical rate falls back to 30 fps instead of dividing by zero.
    let src = SyntheticSource::new(person, 96, 64, (0, 0), 1);
    assert_eq!(src.fps(), (30, 1));
}

/// Writes sample frames for people to look at: `cargo test --release --lib synth -- --ignored`.
#[test]
#[ignore]
fn save_samples() {
    for (k, p) in people().iter().take(8).enumerate() {
        for t in [0.0f32, 1.3, 2.7] {
            let (img, _) = p.render(t, 512, 512);
            let path = std::env::temp_dir().join(format!("synth_{k}_{t}.png"));
            img.save_png(&path).unwrap();
        }
    }
}

/// Render speed and the largest landmark step between frames, for the record.
#[test]
#[ignore]
fn render_time() {
    let p = SyntheticPerson::demo();
    let _ = p.render(0.0, 512, 512);
    let n = 200;
    let start = std::time::Instant::now();
    for i in 0..n {
        let _ = p.render(i as f32 / 30.0, 512, 512);
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!("512x512 render: {ms:.2} ms/frame");
}

/// Distance from `p` to the segment `a`-`b`.
fn to_segment(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let t =
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy).max(1e-6)).clamp(0.0, 1.0);
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}

#[test]
fn part_labels_cover_the_person_and_lie_on_their_own_limbs() {
    use crate::render::joints::{joints, limb, LIMBS};
    let size = 256u32;
    let mut checked = 0;
    for person in people().iter().take(6) {
        for t in [0.3f32, 2.1, 4.7] {
            let labels = person.parts(t, size, size);
            let mask = person.mask(t, size, size);
            // Labels are where the person is; where the person wholly covers a pixel, a
            // part is named.
            let outside = labels
                .iter()
                .zip(&mask)
                .filter(|(&l, &m)| l > 0 && m == 0)
                .count();
            assert_eq!(outside, 0, "labels outside the person at t {t}");
            let full: Vec<_> = labels
                .iter()
                .zip(&mask)
                .filter(|(_, &m)| m == 255)
                .collect();
            let named = full.iter().filter(|(&l, _)| l > 0).count();
            assert!(
                named as f64 > 0.99 * full.len() as f64,
                "{named} of {}",
                full.len()
            );
            // Each arm and leg segment's pixels centre on its own bones: nearer them than
            // to the other side's and to the same side's other segment (a swapped side or
            // segment fails this).
            let j = joints(&person.skeleton(t, size, size));
            let axis = |l: usize| (j[LIMBS[l][0]].unwrap(), j[LIMBS[l][1]].unwrap());
            // Each labelled part, the limb whose bones it should lie on, and that side's
            // other segment.
            let families = [
                (part::UPPER_ARM, limb::UPPER_ARM, limb::FOREARM),
                (part::FOREARM, limb::FOREARM, limb::UPPER_ARM),
                (part::THIGH, limb::THIGH, limb::SHIN),
                (part::SHIN, limb::SHIN, limb::THIGH),
            ];
            for (labelled, family, sibling) in families {
                for side in 0..2 {
                    let l = family[side];
                    let pixels: Vec<[f32; 2]> = (0..labels.len())
                        .filter(|&i| labels[i] == labelled[side])
                        .map(|i| [(i % 256) as f32 + 0.5, (i / 256) as f32 + 0.5])
                        .collect();
                    if pixels.len() < 30 {
                        continue;
                    }
                    let n = pixels.len() as f32;
                    let c = [
                        pixels.iter().map(|p| p[0]).sum::<f32>() / n,
                        pixels.iter().map(|p| p[1]).sum::<f32>() / n,
                    ];
                    let own = {
                        let (a, b) = axis(l);
                        to_segment(c, a, b)
                    };
                    let others = [family[1 - side], sibling[side]];
                    for o in others {
                        let (a, b) = axis(o);
                        assert!(own < to_segment(c, a, b), "limb {l} at t {t}: its pixels centre {own:.1} px from it, nearer limb {o}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} limbs were seen");
}
