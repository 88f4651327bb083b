//! Forward kinematics: identity + pose -> joint positions in image pixels, and the 33
//! BlazePose landmarks exactly where the drawing puts the matching body parts.
//!
//! Body space is in stature units with x to the image's right, y down and z towards the
//! camera, origin at the hip joints' midpoint. The camera looks slightly down (orthographic,
//! pitched by `PITCH`), so feet stepping towards it land lower in the image, as in real
//! footage.

use std::ops::{Add, Mul, Neg, Sub};

use super::identity::Identity;
use super::motion::{Pose, MAX_LEAN, MAX_SWAY};
use crate::base::skeleton::NUM_LANDMARKS;

/// Half the head's height (crown to chin) for `head_size` 1.
pub(crate) const HEAD_RY: f32 = 0.063;
/// Half the head's width (without ears) for `head_size` 1.
pub(crate) const HEAD_RX: f32 = 0.046;
/// Ankle joint above the sole.
pub(crate) const ANKLE_HEIGHT: f32 = 0.05;
/// Ankle to the tip of the shoe, and ankle to the back of the heel.
const FOOT_FORWARD: f32 = 0.115;
const FOOT_BACK: f32 = 0.03;
const TURNOUT: f32 = 0.35; // feet point 20 degrees outwards
const PITCH: f32 = 0.14; // camera looks 8 degrees down

/// A point or vector in image pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct V2 {
    pub x: f32,
    pub y: f32,
}

pub(crate) const fn v2(x: f32, y: f32) -> V2 {
    V2 { x, y }
}

impl V2 {
    pub(crate) fn len(self) -> f32 {
        self.x.hypot(self.y)
    }

    /// Unit vector, or straight down for a zero vector (never NaN).
    pub(crate) fn unit(self) -> V2 {
        let l = self.len();
        if l > 1e-6 {
            self * (1.0 / l)
        } else {
            v2(0.0, 1.0)
        }
    }

    /// Rotated 90 degrees clockwise on screen (y points down).
    pub(crate) fn perp(self) -> V2 {
        v2(-self.y, self.x)
    }

    /// Rotated by `a` radians, clockwise on screen.
    pub(crate) fn rotate(self, a: f32) -> V2 {
        let (s, c) = a.sin_cos();
        v2(self.x * c - self.y * s, self.x * s + self.y * c)
    }
}

impl Add for V2 {
    type Output = V2;
    fn add(self, o: V2) -> V2 {
        v2(self.x + o.x, self.y + o.y)
    }
}

impl Sub for V2 {
    type Output = V2;
    fn sub(self, o: V2) -> V2 {
        v2(self.x - o.x, self.y - o.y)
    }
}

impl Mul<f32> for V2 {
    type Output = V2;
    fn mul(self, k: f32) -> V2 {
        v2(self.x * k, self.y * k)
    }
}

impl Neg for V2 {
    type Output = V2;
    fn neg(self) -> V2 {
        v2(-self.x, -self.y)
    }
}

type V3 = [f32; 3];

fn add3(a: V3, b: V3, k: f32) -> V3 {
    [a[0] + b[0] * k, a[1] + b[1] * k, a[2] + b[2] * k]
}

/// Direction of a limb `angle` outwards from straight down, raised `forward` towards the
/// camera; `side` is +1 for the person's left (image right), -1 for their right.
fn limb_dir(angle: f32, forward: f32, side: f32) -> V3 {
    let (sa, ca) = angle.sin_cos();
    let (sf, cf) = forward.sin_cos();
    [side * sa * cf, ca * cf, sf]
}

/// A part drawn in its own coordinates (head, hand): `o + ex * u + ey * v` in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Local {
    pub o: V2,
    pub ex: V2,
    pub ey: V2,
}

impl Local {
    pub(crate) fn at(&self, u: f32, v: f32) -> V2 {
        self.o + self.ex * u + self.ey * v
    }
}

/// Where the person stands in the frame: fixed per identity and frame size so the camera
/// never zooms with the pose, then moved by the identity's slow camera drift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Layout {
    /// Pixels per stature unit.
    pub scale: f32,
    pub centre_x: f32,
    /// Image row of the floor under the feet.
    pub floor_y: f32,
}

impl Layout {
    /// The layout without drift: the person fills `id.height` of the frame inside margins
    /// that leave room for the drift, placed by `id.framing`.
    pub(crate) fn new(id: &Identity, width: u32, height: u32) -> Self {
        let (w, h) = (width as f32, height as f32);
        let [mx, my] = id.drift.margin();
        let (iw, ih) = (w * (1.0 - 2.0 * mx), h * (1.0 - 2.0 * my));
        let stature = id.stature();
        // Arms stretched sideways must fit too: narrow frames get a smaller person.
        let reach = id.shoulder_width * 0.5
            + id.upper_arm
            + id.forearm
            + id.hand
            + MAX_SWAY
            + id.torso * MAX_LEAN.sin()
            + 0.02;
        let scale = (id.height * ih / stature).min(0.5 * iw / reach);
        let free_x = (0.5 * iw - reach * scale).max(0.0);
        let free_y = (ih - stature * scale).max(0.0);
        // Raised hands and hair need about a tenth of the frame above the head.
        let below = id.framing.y.min(1.0 - 0.1 * ih / free_y.max(1e-3)).max(0.0);
        Self {
            scale,
            centre_x: 0.5 * w + id.framing.x.clamp(-1.0, 1.0) * free_x,
            floor_y: my * h + ih - below * free_y,
        }
    }

    /// The layout at `t` seconds: [`Layout::new`] seen through the drifting camera, a
    /// similarity about the frame's centre, so image and landmarks move together.
    pub(crate) fn at(id: &Identity, width: u32, height: u32, t: f32) -> Self {
        let base = Self::new(id, width, height);
        let (w, h) = (width as f32, height as f32);
        let (zoom, [px, py]) = id.drift.at(t);
        Self {
            scale: base.scale * zoom,
            centre_x: 0.5 * w + (base.centre_x - 0.5 * w) * zoom + px * w,
            floor_y: 0.5 * h + (base.floor_y - 0.5 * h) * zoom + py * h,
        }
    }
}

/// Joint positions in image pixels; arrays are [person's left, person's right].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Body {
    /// Pixels per stature unit.
    pub scale: f32,
    pub mid_hip: V2,
    /// Unit vector up the torso.
    pub up: V2,
    pub neck_base: V2,
    pub hips: [V2; 2],
    pub knees: [V2; 2],
    pub ankles: [V2; 2],
    pub toes: [V2; 2],
    pub shoulders: [V2; 2],
    pub elbows: [V2; 2],
    pub wrists: [V2; 2],
    /// u along the hand (1 = fingertips), v towards the thumb (1 = one hand length).
    pub hands: [Local; 2],
    /// In stature units scaled by `head_size`, origin at the head's centre, x to the
    /// person's left (image right), y down the face.
    pub head: Local,
    /// x, y in pixels; z in pixels, smaller is closer to the camera, 0 at mid-hip (BlazePose).
    pub landmarks: [[f32; 3]; NUM_LANDMARKS],
}

/// Height of the eye line in head coordinates (0 is the middle of crown to chin). The
/// features sit a little higher and closer together than average: BlazePose reads a
/// drawn face as more compact than it is, and these values minimise its error.
pub(crate) const EYE_LINE: f32 = -0.008;
/// Below the eye line: nose tip, mouth corners, ear centres.
pub(crate) const NOSE_Y: f32 = 0.019;
pub(crate) const MOUTH_Y: f32 = 0.038;
pub(crate) const EAR_Y: f32 = 0.008;
/// Across: eye centres, half an eye's width, mouth corners, ear centres.
pub(crate) const EYE_X: f32 = 0.0195;
pub(crate) const EYE_HALF: f32 = 0.009;
pub(crate) const MOUTH_X: f32 = 0.0135;
/// Where the ear meets the head (the tragus), just inside the face's outline.
pub(crate) const EAR_X: f32 = 0.043;

/// Face landmarks in head coordinates relative to the eye line (x, y, depth towards the
/// camera), BlazePose order 0..=10; "left" is the person's left, +x.
pub(crate) const FACE_POINTS: [[f32; 3]; 11] = [
    [0.0, NOSE_Y, 0.055],
    [EYE_X - EYE_HALF, 0.0, 0.042],
    [EYE_X, 0.0, 0.04],
    [EYE_X + EYE_HALF, 0.0, 0.03],
    [-EYE_X + EYE_HALF, 0.0, 0.042],
    [-EYE_X, 0.0, 0.04],
    [-EYE_X - EYE_HALF, 0.0, 0.03],
    [EAR_X, EAR_Y, -0.005],
    [-EAR_X, EAR_Y, -0.005],
    [MOUTH_X, MOUTH_Y, 0.045],
    [-MOUTH_X, MOUTH_Y, 0.045],
];

/// Hand landmarks (pinky, index, thumb) in hand coordinates.
///
/// BlazePose's hand points are knuckles (MediaPipe's old names: pinky_1, index_1, thumb_2),
/// not fingertips.
pub(crate) const HAND_POINTS: [[f32; 2]; 3] = [[0.47, -0.13], [0.5, 0.13], [0.33, 0.25]];

/// Solves the body for `pose` and places it in the frame.
pub(crate) fn solve(id: &Identity, pose: &Pose, layout: &Layout) -> Body {
    let sides = [1.0f32, -1.0];
    let mid_hip: V3 = [pose.sway, 0.0, 0.0];
    let up2 = v2(0.0, -1.0).rotate(pose.lean);
    let neck_base = add3(mid_hip, [up2.x, up2.y, 0.0], id.torso);
    let mut j = Joints::default();
    for (i, &side) in sides.iter().enumerate() {
        let s = v2(side * 0.5 * id.shoulder_width, 0.012).rotate(pose.lean);
        j.shoulders[i] = add3(neck_base, [s.x, s.y, 0.0], 1.0);
        let h = v2(side * 0.5 * id.hip_width, 0.0).rotate(pose.pelvis_roll);
        j.hips[i] = add3(mid_hip, [h.x, h.y, 0.0], 1.0);

        let arm = &pose.arms[i];
        j.elbows[i] = add3(
            j.shoulders[i],
            limb_dir(arm.abduction, arm.forward, side),
            id.upper_arm,
        );
        // The elbow bends in the image plane when the arm is raised sideways and towards the
        // camera when it hangs, as a real elbow does.
        let f = (0.35 + 0.65 * arm.abduction / std::f32::consts::FRAC_PI_2).clamp(0.0, 1.0);
        let fore_angle = arm.abduction + arm.elbow * f;
        let fore_fwd = arm.forward + arm.elbow * (1.0 - f) * 0.55;
        j.wrists[i] = add3(
            j.elbows[i],
            limb_dir(fore_angle, fore_fwd, side),
            id.forearm,
        );
        j.hand_dirs[i] = limb_dir(fore_angle + arm.wrist, 0.5 * fore_fwd, side);

        let leg = &pose.legs[i];
        j.knees[i] = add3(
            j.hips[i],
            limb_dir(leg.abduction, leg.flexion, side),
            id.thigh,
        );
        j.ankles[i] = add3(
            j.knees[i],
            limb_dir(0.3 * leg.abduction, leg.flexion - leg.knee, side),
            id.shin,
        );
        let (st, ct) = TURNOUT.sin_cos();
        j.toes[i] = add3(j.ankles[i], [side * st, 0.0, ct], FOOT_FORWARD);
        j.toes[i][1] += 0.8 * ANKLE_HEIGHT;
        j.heels[i] = add3(j.ankles[i], [-side * st, 0.0, -ct], FOOT_BACK);
        j.heels[i][1] += 0.6 * ANKLE_HEIGHT;
    }
    // The lower foot stands on the floor.
    let floor = j.ankles[0][1].max(j.ankles[1][1]) + ANKLE_HEIGHT;
    let (sp, cp) = PITCH.sin_cos();
    let scale = layout.scale;
    let oy = layout.floor_y - floor * cp * scale;
    let proj = |p: V3| {
        v2(
            layout.centre_x + p[0] * scale,
            oy + (p[1] * cp + p[2] * sp) * scale,
        )
    };
    let depth = |p: V3| -p[2] * scale;

    let head_angle = pose.lean + pose.head_roll;
    let neck_top = add3(neck_base, [up2.x, up2.y, 0.0], id.neck);
    let head_centre = add3(
        neck_top,
        {
            let u = v2(0.0, -HEAD_RY * id.head_size).rotate(head_angle);
            [u.x, u.y, 0.0]
        },
        1.0,
    );
    let hs = scale * id.head_size;
    let head = Local {
        o: proj(head_centre),
        ex: v2(1.0, 0.0).rotate(head_angle) * hs,
        ey: v2(0.0, 1.0).rotate(head_angle) * (hs * cp),
    };

    let map2 = |a: [V3; 2]| [proj(a[0]), proj(a[1])];
    let wrists = map2(j.wrists);
    let hands = [0, 1].map(|i| {
        let d = proj(j.hand_dirs[i]) - proj([0.0; 3]);
        let foreshortening = (d.len() / scale).max(0.6);
        let u = d.unit();
        // Palms face the camera: the thumb is on the lateral side of a hanging hand.
        let thumb = if i == 0 { -u.perp() } else { u.perp() };
        Local {
            o: wrists[i],
            ex: u * (id.hand * scale * foreshortening),
            ey: thumb * (id.hand * scale),
        }
    });

    let mut lm = [[0.0f32; 3]; NUM_LANDMARKS];
    let head_z = depth(head_centre);
    for (k, p) in FACE_POINTS.iter().enumerate() {
        let q = head.at(p[0], p[1] + EYE_LINE);
        lm[k] = [q.x, q.y, head_z - p[2] * hs];
    }
    let mut put = |k: usize, p: V3| {
        let q = proj(p);
        lm[k] = [q.x, q.y, depth(p)];
    };
    for i in 0..2 {
        put(11 + i, j.shoulders[i]);
        put(13 + i, j.elbows[i]);
        put(15 + i, j.wrists[i]);
        put(23 + i, j.hips[i]);
        put(25 + i, j.knees[i]);
        put(27 + i, j.ankles[i]);
        put(29 + i, j.heels[i]);
        put(31 + i, j.toes[i]);
    }
    for i in 0..2 {
        let wz = depth(j.wrists[i]);
        let dz = -j.hand_dirs[i][2] * id.hand * scale;
        for (n, p) in HAND_POINTS.iter().enumerate() {
            let q = hands[i].at(p[0], p[1]);
            lm[17 + 2 * n + i] = [q.x, q.y, wz + dz * p[0]];
        }
    }

    Body {
        scale,
        mid_hip: proj(mid_hip),
        up: up2,
        neck_base: proj(neck_base),
        hips: map2(j.hips),
        knees: map2(j.knees),
        ankles: map2(j.ankles),
        toes: map2(j.toes),
        shoulders: map2(j.shoulders),
        elbows: map2(j.elbows),
        wrists,
        hands,
        head,
        landmarks: lm,
    }
}

#[derive(Default)]
struct Joints {
    shoulders: [V3; 2],
    elbows: [V3; 2],
    wrists: [V3; 2],
    hand_dirs: [V3; 2],
    hips: [V3; 2],
    knees: [V3; 2],
    ankles: [V3; 2],
    heels: [V3; 2],
    toes: [V3; 2],
}
