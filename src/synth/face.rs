//! The head: hair, ears, a shaded face with eyes, brows, nose and mouth.
//!
//! The face matters most: BlazePose's detector keys on it, and without eyes, nose, mouth
//! and ears it reads the person as seen from behind and swaps left and right.

use super::body::{
    Local, EAR_Y, EYE_HALF, EYE_LINE, EYE_X, HEAD_RX, HEAD_RY, MOUTH_X, MOUTH_Y, NOSE_Y,
};
use super::identity::{mix, shade, Identity};
use super::shapes::{curve, local_ellipse, smooth_closed, Canvas};
use super::style::HairStyle;

/// Hair behind the head (drawn before the neck and shoulders).
pub(crate) fn hair_back(cv: &mut Canvas, id: &Identity, head: &Local) {
    let hair = id.hair;
    let (left, right) = (head.at(-0.06, 0.0), head.at(0.06, 0.0));
    match id.hair_style {
        HairStyle::Long => {
            let pts = [
                head.at(0.0, -0.07),
                head.at(0.056, -0.045),
                head.at(0.064, 0.03),
                head.at(0.06, 0.11),
                head.at(0.0, 0.1),
                head.at(-0.06, 0.11),
                head.at(-0.064, 0.03),
                head.at(-0.056, -0.045),
            ];
            cv.fill_shaded(smooth_closed(&pts), hair, left, right);
        }
        HairStyle::Short | HairStyle::Bun => {
            if id.hair_style == HairStyle::Bun {
                let bun = local_ellipse(head, 0.0, -0.09, 0.034, 0.03);
                cv.fill_shaded(bun, hair, head.at(-0.03, -0.08), head.at(0.03, -0.08));
            }
            let path = local_ellipse(head, 0.0, -0.012, HEAD_RX + 0.006, HEAD_RY - 0.002);
            cv.fill_shaded(path, hair, head.at(-0.05, 0.0), head.at(0.05, 0.0));
        }
        HairStyle::Curly => {
            // A round volume with a bumpy outline: curls around a large core, down to the
            // jaw at the sides (the face is drawn over the middle).
            let n = 11;
            for k in 0..n {
                let a = std::f32::consts::PI * (0.85 + 1.3 * k as f32 / (n - 1) as f32);
                let (sa, ca) = a.sin_cos();
                let curl = local_ellipse(head, 0.068 * ca, -0.02 + 0.07 * sa, 0.024, 0.024);
                cv.fill_shaded(curl, hair, left, right);
            }
            let core = local_ellipse(head, 0.0, -0.018, 0.074, 0.07);
            cv.fill_shaded(core, hair, left, right);
        }
    }
}

/// Ears, face, features and the hair in front.
pub(crate) fn head(cv: &mut Canvas, id: &Identity, h: &Local) {
    let skin = id.skin;
    // Ears first: the face covers their inner half.
    for side in [1.0f32, -1.0] {
        let ear = local_ellipse(h, side * 0.046, EYE_LINE + EAR_Y, 0.009, 0.016);
        cv.fill_shaded(
            ear,
            shade(skin, 0.95),
            h.at(side * 0.055, 0.0),
            h.at(side * 0.04, 0.0),
        );
        let e = EYE_LINE + EAR_Y - 0.008;
        let inner = curve(
            h.at(side * 0.049, e - 0.002),
            h.at(side * 0.055, e + 0.008),
            h.at(side * 0.049, e + 0.018),
        );
        cv.stroke(inner, shade(skin, 0.65), cv.line);
    }
    let face = [
        h.at(0.0, -HEAD_RY),
        h.at(0.034, -0.052),
        h.at(HEAD_RX, -0.018),
        h.at(0.044, 0.016),
        h.at(0.032, 0.046),
        h.at(0.0, HEAD_RY),
        h.at(-0.032, 0.046),
        h.at(-0.044, 0.016),
        h.at(-HEAD_RX, -0.018),
        h.at(-0.034, -0.052),
    ];
    let radius = h.ex.len() * 0.07;
    cv.fill_radial(smooth_closed(&face), skin, h.at(-0.006, -0.004), radius);
    face_features(cv, id, h);
    hair_front(cv, id, h);
}

fn face_features(cv: &mut Canvas, id: &Identity, head: &Local) {
    let h = &Local {
        o: head.at(0.0, EYE_LINE),
        ..*head
    };
    let skin = id.skin;
    let unit = h.ex.len();
    let brow = mix(id.hair, skin, 0.3);
    let lash = [28, 20, 18];
    for side in [1.0f32, -1.0] {
        let x = |u: f32| side * u;
        // A shadowed socket makes the eye the darkest spot of the face, not the brow.
        let socket = local_ellipse(h, x(EYE_X), -0.002, 0.0145, 0.0085);
        cv.fill_alpha(socket, shade(skin, 0.7), 110);
        let b = curve(
            h.at(x(0.009), -0.018),
            h.at(x(0.02), -0.026),
            h.at(x(0.032), -0.017),
        );
        cv.stroke(b, brow, (0.0028 * unit).max(0.7));
        // Eye white: an almond between the corners, then iris, pupil and the lash line.
        let (p, e) = (
            h.at(x(EYE_X - EYE_HALF), 0.0),
            h.at(x(EYE_X + EYE_HALF), 0.0),
        );
        let (t1, t2) = (h.at(x(0.015), -0.0085), h.at(x(0.025), -0.0085));
        let mut pb = tiny_skia::PathBuilder::new();
        pb.move_to(p.x, p.y);
        pb.cubic_to(t1.x, t1.y, t2.x, t2.y, e.x, e.y);
        let (b1, b2) = (h.at(x(0.025), 0.0068), h.at(x(0.015), 0.0068));
        pb.cubic_to(b1.x, b1.y, b2.x, b2.y, p.x, p.y);
        pb.close();
        cv.fill(pb.finish(), [246, 246, 240]);
        cv.fill(local_ellipse(h, x(EYE_X), 0.0, 0.005, 0.005), id.iris);
        cv.fill(local_ellipse(h, x(EYE_X), 0.0, 0.0022, 0.0022), [10, 8, 8]);
        let mut pb = tiny_skia::PathBuilder::new();
        pb.move_to(p.x, p.y);
        pb.cubic_to(t1.x, t1.y, t2.x, t2.y, e.x, e.y);
        cv.stroke(pb.finish(), lash, (0.003 * unit).max(0.8));
        // Nostril.
        cv.fill(
            local_ellipse(h, x(0.0055), NOSE_Y + 0.0015, 0.0026, 0.0016),
            shade(skin, 0.45),
        );
    }
    // Nose: a shaded ridge, a lit tip and the shadow beneath it.
    let n = NOSE_Y;
    let ridge = curve(
        h.at(-0.004, 0.002),
        h.at(-0.0065, 0.6 * n),
        h.at(-0.004, n - 0.002),
    );
    cv.stroke(ridge, shade(skin, 0.78), (0.0025 * unit).max(0.7));
    cv.fill(
        local_ellipse(h, 0.0, n - 0.0025, 0.0045, 0.0035),
        shade(skin, 1.07),
    );
    let under = curve(
        h.at(-0.008, n + 0.002),
        h.at(0.0, n + 0.0075),
        h.at(0.008, n + 0.002),
    );
    cv.stroke(under, shade(skin, 0.68), (0.0022 * unit).max(0.7));
    // Lips, then the line between them.
    let (ml, mr) = (h.at(MOUTH_X, MOUTH_Y), h.at(-MOUTH_X, MOUTH_Y));
    let mut pb = tiny_skia::PathBuilder::new();
    pb.move_to(ml.x, ml.y);
    let c = h.at(0.0, MOUTH_Y - 0.008);
    pb.quad_to(c.x, c.y, mr.x, mr.y);
    let c = h.at(0.0, MOUTH_Y + 0.011);
    pb.quad_to(c.x, c.y, ml.x, ml.y);
    pb.close();
    cv.fill(pb.finish(), id.lips);
    let line = curve(ml, h.at(0.0, MOUTH_Y + 0.003), mr);
    cv.stroke(line, shade(id.lips, 0.45), (0.0022 * unit).max(0.7));
    // Cheek warmth keeps a pale face from merging with a pale wall.
    for side in [1.0f32, -1.0] {
        let cheek = local_ellipse(h, side * 0.03, NOSE_Y, 0.008, 0.006);
        cv.fill_alpha(cheek, mix(skin, [200, 80, 80], 0.5), 40);
    }
}

fn hair_front(cv: &mut Canvas, id: &Identity, h: &Local) {
    let pts = [
        h.at(-0.047, 0.0),
        h.at(-0.052, -0.03),
        h.at(-0.036, -0.06),
        h.at(0.0, -0.072),
        h.at(0.036, -0.06),
        h.at(0.052, -0.03),
        h.at(0.047, 0.0),
        h.at(0.042, -0.028),
        h.at(0.022, -0.038),
        h.at(0.0, -0.035),
        h.at(-0.022, -0.04),
        h.at(-0.042, -0.028),
    ];
    cv.fill_shaded(
        smooth_closed(&pts),
        id.hair,
        h.at(-0.05, 0.0),
        h.at(0.05, 0.0),
    );
}
