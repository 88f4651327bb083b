//! Paints a solved [`Body`] over its room: back to front, legs, torso, head, arms.

use super::body::{v2, Body, Local, V2};
use super::face::{hair_back, head};
use super::identity::{shade, Identity, Rgb};
use super::part;
use super::shapes::{curve, ellipse, luma, smooth_closed, smooth_open, Canvas, Print, Scene};
use super::skia::{coverage, labels, paint_scene};
use super::style::{Bottom, Pattern, TopFit};
use crate::RgbImage;

/// Renders `body` (solved for `id` at this frame size) into an RGB image.
pub(crate) fn draw(id: &Identity, body: &Body, floor_y: f32, width: u32, height: u32) -> RgbImage {
    paint(id, body, floor_y, width, height, true)
}

/// Where `body` is in its frame: the person's exact coverage of each pixel, 0..255.
pub(crate) fn person_coverage(id: &Identity, body: &Body, width: u32, height: u32) -> Vec<u8> {
    coverage(&figure_alone(id, body, width, height).scene, width, height)
}

/// Which body part ([`part`]) each pixel's centre shows, 0 where no part of the person. Clothes
/// go with the limb they cover (a skirt and the pelvis with the torso), hands with the
/// forearms, shoes with the shins, hair and neck with the head.
pub(crate) fn part_labels(id: &Identity, body: &Body, width: u32, height: u32) -> Vec<u8> {
    let cv = figure_alone(id, body, width, height);
    labels(&cv.scene, &cv.parts, width, height)
}

/// The person drawn without the room.
fn figure_alone(id: &Identity, body: &Body, width: u32, height: u32) -> Canvas {
    let mut cv = Canvas::new(width, height, (body.scale * 0.0035).max(0.7));
    figure(&mut cv, id, body);
    cv
}

/// The room without the person, for tests that the person stays inside the frame.
#[cfg(test)]
pub(crate) fn draw_room(
    id: &Identity,
    body: &Body,
    floor_y: f32,
    width: u32,
    height: u32,
) -> RgbImage {
    paint(id, body, floor_y, width, height, false)
}

fn paint(
    id: &Identity,
    body: &Body,
    floor_y: f32,
    width: u32,
    height: u32,
    person: bool,
) -> RgbImage {
    let scene = scene(id, body, floor_y, width, height, person);
    paint_scene(&scene, width, height, id.backdrop.wall_top)
}

/// The frame as drawing commands, for the painter.
pub(crate) fn scene(
    id: &Identity,
    body: &Body,
    floor_y: f32,
    width: u32,
    height: u32,
    person: bool,
) -> Scene {
    let mut cv = Canvas::new(width, height, (body.scale * 0.0035).max(0.7));
    room(&mut cv, id, body, floor_y);
    if person {
        figure(&mut cv, id, body);
    }
    cv.scene
}

/// Back to front: hair behind the head, legs, hips or skirt, shoes, top, neck, head, arms.
fn figure(cv: &mut Canvas, id: &Identity, body: &Body) {
    let g = body.scale * id.girth;
    cv.part(part::HEAD);
    hair_back(cv, id, &body.head);
    for i in 0..2 {
        leg(cv, id, body, i, g);
    }
    cv.part(part::TORSO);
    match id.bottom {
        Bottom::Trousers | Bottom::Shorts { .. } => pelvis(cv, id, body, g),
        Bottom::Skirt { length } => skirt(cv, id.trousers, id.bottom_pattern, body, length, g),
        Bottom::Dress { length } => skirt(cv, id.shirt, id.top_pattern, body, length, g),
    }
    for i in 0..2 {
        cv.part(part::SHIN[i]);
        shoe(cv, id, body, i, g);
    }
    cv.part(part::TORSO);
    torso(cv, id, body, g);
    cv.part(part::HEAD);
    let neck_r = 0.029 * g;
    let chin = body.head.at(0.0, 0.045);
    let base = body.neck_base + body.up * (0.01 * body.scale);
    cv.limb(base, neck_r * 1.1, chin, neck_r, shade(id.skin, 0.9));
    head(cv, id, &body.head);
    for i in 0..2 {
        arm(cv, id, body, i, g);
    }
}

fn room(cv: &mut Canvas, id: &Identity, body: &Body, floor_y: f32) {
    let h = cv.height as f32;
    let w = cv.width as f32;
    let b = id.backdrop;
    // The wall meets the floor behind the person, so a little above their feet.
    let horizon = (floor_y - 0.06 * body.scale).clamp(0.0, h);
    cv.band(0.0, horizon, b.wall_top, b.wall_bottom);
    cv.band(horizon, h, shade(b.floor, 1.1), shade(b.floor, 0.85));
    let line = curve(v2(0.0, horizon), v2(0.5 * w, horizon), v2(w, horizon));
    cv.stroke(
        line,
        shade(b.wall_bottom, 0.75),
        (0.004 * body.scale).max(1.0),
    );
    // A soft shadow under the feet grounds the figure.
    let c = v2(body.mid_hip.x, floor_y);
    let shadow = ellipse(c, v2(0.2 * body.scale, 0.0), v2(0.0, 0.025 * body.scale));
    cv.fill_alpha(shadow, shade(b.floor, 0.5), 90);
}

/// The frame a print on the trunk is laid in: across to the person's left, down the body.
fn trunk_frame(body: &Body) -> Local {
    Local {
        o: body.neck_base,
        ex: body.up.perp() * body.scale,
        ey: -body.up * body.scale,
    }
}

/// The frame a print on a limb from `a` to `b` is laid in: across, then along it.
fn limb_frame(a: V2, b: V2, scale: f32) -> Local {
    let u = (b - a).unit();
    Local {
        o: a,
        ex: u.perp() * scale,
        ey: u * scale,
    }
}

fn leg(cv: &mut Canvas, id: &Identity, body: &Body, i: usize, g: f32) {
    let c = id.trousers;
    let s = body.scale;
    let (hip, knee, ankle) = (body.hips[i], body.knees[i], body.ankles[i]);
    let u = (ankle - knee).unit();
    // A bare ankle between a square hem and the shoe marks the ankle joint.
    let hem = ankle - u * (0.01 * s);
    let ankle_top = hem - u * (0.012 * s);
    let skin = shade(id.skin, 0.92);
    cv.part(part::SHIN[i]);
    cv.limb(
        ankle_top,
        0.016 * g,
        ankle + u * (0.012 * s),
        0.016 * g,
        skin,
    );
    let print = Print::new(id.bottom_pattern, limb_frame(hip, knee, s));
    if !id.bottom.bare_legs() {
        cv.segment(
            knee,
            0.036 * g,
            hem,
            0.031 * g,
            false,
            shade(c, 0.95),
            print.as_ref(),
        );
        cv.part(part::THIGH[i]);
        cv.segment(hip, 0.05 * g, knee, 0.038 * g, true, c, print.as_ref());
        return;
    }
    // Bare legs: slimmer than trousers, tapering to the ankle.
    cv.limb(knee, 0.032 * g, ankle_top, 0.02 * g, skin);
    cv.part(part::THIGH[i]);
    cv.limb(hip, 0.046 * g, knee, 0.034 * g, id.skin);
    if let Bottom::Shorts { length } = id.bottom {
        let end = hip + (knee - hip) * length.clamp(0.1, 0.9);
        let r = 0.046 * g + (0.034 - 0.046) * g * length + 0.01 * g;
        cv.segment(hip, 0.055 * g, end, r, false, c, print.as_ref());
    }
}

/// A flared skirt from the waist to `length` down the thighs (0 hip, 1 knee), following
/// the legs so it swings as they step.
fn skirt(cv: &mut Canvas, c: Rgb, pattern: Pattern, body: &Body, length: f32, g: f32) {
    let s = body.scale;
    let up = body.up;
    let side = up.perp();
    let half = 0.5 * (body.hips[0] - body.hips[1]).len();
    let waist = body.mid_hip + up * (0.08 * s);
    let len = length.clamp(0.2, 1.0);
    let hem = |i: usize| body.hips[i] + (body.knees[i] - body.hips[i]) * len;
    let flare = 0.045 * g + 0.06 * s * len;
    let (h0, h1) = (hem(0), hem(1));
    let pts = [
        waist + side * (half + 0.035 * g),
        body.hips[0] + side * (0.06 * g),
        h0 + side * flare,
        h0 + (h1 - h0) * 0.15 - up * (0.006 * s),
        h0 + (h1 - h0) * 0.5 - up * (0.01 * s),
        h0 + (h1 - h0) * 0.85 - up * (0.006 * s),
        h1 - side * flare,
        body.hips[1] - side * (0.06 * g),
        waist - side * (half + 0.035 * g),
    ];
    let a = body.mid_hip - side * (half + flare);
    let b = body.mid_hip + side * (half + flare);
    let print = Print::new(pattern, trunk_frame(body));
    cv.fill_printed(smooth_closed(&pts), c, b, a, print.as_ref());
}

/// Hip joints sit inside the pelvis a little below the waistband, as BlazePose places them.
fn pelvis(cv: &mut Canvas, id: &Identity, body: &Body, g: f32) {
    let s = body.scale;
    let up = body.up;
    let side = up.perp(); // to the person's left (image right)
    let half = 0.5 * (body.hips[0] - body.hips[1]).len();
    let waist = body.mid_hip + up * (0.08 * s);
    let k = id.bulk;
    let pts = [
        waist + side * ((half + 0.035 * g) * k),
        body.hips[0] + side * (0.045 * g * k) - up * (0.01 * s),
        body.hips[0] - up * (0.06 * s),
        body.mid_hip - up * (0.045 * s),
        body.hips[1] - up * (0.06 * s),
        body.hips[1] - side * (0.045 * g * k) - up * (0.01 * s),
        waist - side * ((half + 0.035 * g) * k),
    ];
    let a = body.mid_hip - side * (half + 0.05 * g);
    let b = body.mid_hip + side * (half + 0.05 * g);
    // Outlined only along the hips and waist: the lower edge blends into the thighs.
    if let Some(path) = smooth_closed(&pts) {
        cv.fill_gradient(&path, id.trousers, b, a);
        if let Some(print) = Print::new(id.bottom_pattern, trunk_frame(body)) {
            cv.print(&path, id.trousers, &print);
        }
    }
    let outline = smooth_open(&[pts[1], pts[0], pts[6], pts[5]]);
    cv.stroke(outline, shade(id.trousers, 0.5), cv.line);
}

/// A shoe seen from the front and a little above: collar at the ankle, widening to a
/// rounded toe at the foot-index landmark, on a contrasting sole.
fn shoe(cv: &mut Canvas, id: &Identity, body: &Body, i: usize, g: f32) {
    let s = body.scale;
    let (ankle, toe) = (body.ankles[i], body.toes[i]);
    let d = (toe - ankle).unit();
    let n = d.perp();
    let mid = ankle + (toe - ankle) * 0.55;
    let pts = [
        ankle + d * (0.02 * s) + n * (0.025 * g),
        mid + n * (0.031 * g),
        toe + n * (0.024 * g),
        toe + d * (0.005 * s),
        toe - n * (0.024 * g),
        mid - n * (0.031 * g),
        ankle + d * (0.02 * s) - n * (0.025 * g),
    ];
    let sole = if luma(id.shoes) < 110.0 {
        [226, 224, 218]
    } else {
        [48, 42, 38]
    };
    // The sole shows as a rim under the toe box.
    let rim = [
        mid + n * (0.032 * g) + d * (0.006 * s),
        toe + n * (0.026 * g) + d * (0.006 * s),
        toe + d * (0.012 * s),
        toe - n * (0.026 * g) + d * (0.006 * s),
        mid - n * (0.032 * g) + d * (0.006 * s),
    ];
    cv.fill(smooth_closed(&rim), sole);
    cv.fill_shaded(
        smooth_closed(&pts),
        id.shoes,
        mid - n * (0.035 * g),
        mid + n * (0.035 * g),
    );
}

fn torso(cv: &mut Canvas, id: &Identity, body: &Body, g: f32) {
    let s = body.scale;
    let up = body.up;
    let side = up.perp();
    let half_hip = 0.5 * (body.hips[0] - body.hips[1]).len();
    let neck = 0.03 * g;
    // A loose top is wider and hangs over the hips; a fitted one ends at the waist.
    let (hem_y, ease) = match id.top_fit {
        TopFit::Fitted => (0.055, 0.0),
        TopFit::Loose => (-0.035, 0.025 * s),
    };
    let hem = body.mid_hip + up * (hem_y * s);
    let waist = (half_hip + 0.04 * g) * id.bulk + ease;
    let mut pts = Vec::with_capacity(12);
    // Clockwise on screen from the neck's left side.
    pts.push(body.neck_base + side * neck + up * (0.03 * s));
    for (k, &sh) in [body.shoulders[0], body.shoulders[1]].iter().enumerate() {
        let out = if k == 0 { side } else { -side };
        let arm = [
            sh + up * (0.028 * g),
            sh + out * (0.03 * g + 0.4 * ease),
            sh - up * (0.09 * s) + out * (0.005 * g + 0.6 * ease),
            hem + out * waist + up * (0.07 * s),
            hem + out * (waist + 0.005 * g + 0.4 * ease),
        ];
        if k == 0 {
            pts.extend_from_slice(&arm);
            pts.push(hem);
        } else {
            pts.extend(arm.iter().rev());
            pts.push(body.neck_base - side * neck + up * (0.03 * s));
        }
    }
    let width = (body.shoulders[0] - body.shoulders[1]).len();
    let a = body.neck_base - side * (0.5 * width + 0.03 * g);
    let b = body.neck_base + side * (0.5 * width + 0.03 * g);
    let print = Print::new(id.top_pattern, trunk_frame(body));
    cv.fill_printed(smooth_closed(&pts), id.shirt, b, a, print.as_ref());
}

fn arm(cv: &mut Canvas, id: &Identity, body: &Body, i: usize, g: f32) {
    let (sh, el, wr) = (body.shoulders[i], body.elbows[i], body.wrists[i]);
    let (r_sh, r_el, r_wr) = (0.031 * g, 0.025 * g, 0.017 * g);
    cv.part(part::FOREARM[i]);
    cv.limb(el, r_el, wr, r_wr, id.skin);
    cv.part(part::UPPER_ARM[i]);
    cv.limb(sh, r_sh, el, r_el, id.skin);
    cv.part(part::FOREARM[i]);
    hand(cv, id, &body.hands[i]);
    // Sleeve, square-hemmed: at least a cap over the shoulder; even a long one stops short
    // of the wrist, leaving it and the hand in view. Measured along the unforeshortened arm.
    let (upper, fore) = (id.upper_arm, id.forearm);
    let reach = (id.sleeve.clamp(0.0, 1.0) * (upper + fore)).max(0.06);
    let (pad, flare) = match id.top_fit {
        TopFit::Fitted => (0.006 * g, 0.0),
        TopFit::Loose => (0.014 * g, 0.012 * g),
    };
    let c = id.shirt;
    let print = Print::new(id.top_pattern, limb_frame(sh, el, body.scale));
    let print = print.as_ref();
    if reach <= upper {
        let t = reach / upper;
        let end = sh + (el - sh) * t;
        let r_end = r_sh + (r_el - r_sh) * t + pad + flare;
        cv.part(part::UPPER_ARM[i]);
        cv.segment(sh, r_sh + pad, end, r_end, false, c, print);
    } else {
        let t = ((reach - upper) / fore).min(0.8);
        let end = el + (wr - el) * t;
        let r_end = r_el + (r_wr - r_el) * t + pad + flare;
        let fore_print = Print::new(id.top_pattern, limb_frame(el, wr, body.scale));
        cv.segment(
            el,
            r_el + pad,
            end,
            r_end,
            false,
            shade(c, 0.95),
            fore_print.as_ref(),
        );
        cv.part(part::UPPER_ARM[i]);
        cv.segment(sh, r_sh + pad, el, r_el + pad, true, c, print);
    }
}

/// Palm facing the camera: palm, four fingers and a thumb, so BlazePose's pinky, index and
/// thumb landmarks have something to land on.
fn hand(cv: &mut Canvas, id: &Identity, f: &Local) {
    let skin = id.skin;
    let fr = 0.046 * f.ey.len(); // finger radius
                                 // Fingers: (across, length, spread) from index to pinky.
    let fingers = [
        (0.135, 0.44, 0.08),
        (0.045, 0.5, 0.025),
        (-0.045, 0.47, -0.025),
        (-0.135, 0.37, -0.08),
    ];
    for (v, len, spread) in fingers {
        let base = f.at(0.46, v);
        let tip = f.at(0.46 + len * (1.0 - spread * spread * 0.5), v + len * spread);
        cv.limb(base, fr * 1.05, tip, fr * 0.85, shade(skin, 0.97));
    }
    let palm = [
        f.at(-0.04, 0.12),
        f.at(0.2, 0.19),
        f.at(0.5, 0.18),
        f.at(0.55, 0.0),
        f.at(0.5, -0.18),
        f.at(0.2, -0.18),
        f.at(-0.04, -0.11),
    ];
    cv.fill_shaded(
        smooth_closed(&palm),
        skin,
        f.at(0.3, -0.22),
        f.at(0.3, 0.22),
    );
    // The thumb lies close along the index, thick at its base as a real one is.
    cv.limb(f.at(0.1, 0.14), fr * 1.5, f.at(0.42, 0.32), fr * 0.95, skin);
}
