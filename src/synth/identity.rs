//! Who is dancing: colours, body proportions, clothes, hair and the room behind them.

use super::style::{Bottom, Drift, Framing, HairStyle, Pattern, TopFit};
pub(crate) use crate::base::rng::SplitMix64;

/// An sRGB colour.
pub type Rgb = [u8; 3];

/// The room: a wall with a soft vertical gradient and a floor. Part of an identity because
/// each of MetaPix's training videos has its own background.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backdrop {
    pub wall_top: Rgb,
    pub wall_bottom: Rgb,
    pub floor: Rgb,
}

/// One synthetic person. Lengths are fractions of the standing stature, so the same
/// identity can be drawn at any frame size.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub skin: Rgb,
    pub hair: Rgb,
    pub iris: Rgb,
    pub lips: Rgb,
    pub shirt: Rgb,
    pub trousers: Rgb,
    pub shoes: Rgb,
    pub backdrop: Backdrop,
    /// Fraction of the frame height the person fills when standing straight.
    pub height: f32,
    /// Head size relative to an average adult head (about 1/7.7 of the stature).
    pub head_size: f32,
    /// Distance between the shoulder joints.
    pub shoulder_width: f32,
    /// Distance between the hip joints (BlazePose's hip landmarks).
    pub hip_width: f32,
    /// Mid-hip to the base of the neck.
    pub torso: f32,
    /// Base of the neck to the chin.
    pub neck: f32,
    pub upper_arm: f32,
    pub forearm: f32,
    /// Wrist to fingertips.
    pub hand: f32,
    pub thigh: f32,
    pub shin: f32,
    /// Limb thickness relative to average.
    pub girth: f32,
    /// Width of the trunk (waist and hips as drawn) relative to average.
    pub bulk: f32,
    /// How far down the arm (shoulder to wrist) the sleeves reach: 0 a cap, 1 long.
    pub sleeve: f32,
    pub top_fit: TopFit,
    pub top_pattern: Pattern,
    pub bottom: Bottom,
    pub bottom_pattern: Pattern,
    pub hair_style: HairStyle,
    pub framing: Framing,
    pub drift: Drift,
}

impl Identity {
    /// The person `make demo` drives with: average proportions, clothes that stand out.
    pub fn demo() -> Self {
        Self {
            skin: [226, 178, 140],
            hair: [62, 40, 26],
            iris: [70, 45, 25],
            lips: [180, 90, 90],
            shirt: [196, 44, 56],
            trousers: [40, 62, 112],
            shoes: [36, 32, 30],
            backdrop: Backdrop {
                wall_top: [232, 236, 240],
                wall_bottom: [196, 204, 214],
                floor: [150, 142, 130],
            },
            height: 0.8,
            head_size: 1.0,
            shoulder_width: 0.205,
            hip_width: 0.125,
            torso: 0.3,
            neck: 0.033,
            upper_arm: 0.185,
            forearm: 0.15,
            hand: 0.105,
            thigh: 0.25,
            shin: 0.235,
            girth: 1.0,
            bulk: 1.0,
            sleeve: 0.25,
            top_fit: TopFit::Fitted,
            top_pattern: Pattern::PLAIN,
            bottom: Bottom::Trousers,
            bottom_pattern: Pattern::PLAIN,
            hair_style: HairStyle::Short,
            framing: Framing { x: 0.0, y: 0.4 },
            // A very slow, barely visible drift: the demo must stay easy to track.
            drift: Drift {
                zoom: 0.01,
                pan: [0.005, 0.005],
                freq: [0.03, 0.021, 0.017],
                phase: [0.0, 1.0, 2.0],
            },
        }
    }

    /// A plausible random person for a seed; the same seed gives the same person everywhere.
    pub fn random(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x5EED_1D3A_7175_0001);
        let backdrop = random_backdrop(&mut rng);
        let skin = skin_tone(rng.unit(), &mut rng);
        let hair = hair_colour(skin, &mut rng);
        // The shirt and trousers stand against the wall, the shoes against the floor.
        let wall = [backdrop.wall_top, backdrop.wall_bottom];
        let shirt = clothing(&mut rng, &SHIRTS, &[wall[0], wall[1], skin], 0.3);
        let trousers = clothing(&mut rng, &TROUSERS, &[wall[0], wall[1], skin, shirt], 0.22);
        let shoes = clothing(&mut rng, &SHOES, &[backdrop.floor, trousers], 0.22);
        let iris = rng.pick(&[[70, 45, 25], [40, 30, 20], [60, 90, 130], [70, 100, 60]]);
        let lips = shade(mix(skin, [170, 70, 80], 0.5), 0.9);
        let height = rng.range(0.6, 0.83);
        let s = rng.range(0.94, 1.06); // limb length scale
                                       // Build: slim to heavy, the limbs and the trunk together but not in lockstep.
        let build = rng.range(-1.0, 1.0);
        let girth = 1.0 + 0.2 * build + rng.range(-0.06, 0.06);
        let bulk = 1.0 + 0.25 * build + rng.range(-0.05, 0.05);
        let top_pattern = print(&mut rng, shirt, skin);
        let bottom_pattern = print(&mut rng, trousers, skin);
        let bottom = match rng.pick(&[0, 0, 1, 2, 3]) {
            0 => Bottom::Trousers,
            1 => Bottom::Shorts {
                length: rng.range(0.35, 0.7),
            },
            2 => Bottom::Skirt {
                length: rng.range(0.5, 0.85),
            },
            _ => Bottom::Dress {
                length: rng.range(0.5, 0.85),
            },
        };
        Self {
            skin,
            hair,
            iris,
            lips,
            shirt,
            trousers,
            shoes,
            backdrop,
            height,
            head_size: rng.range(0.92, 1.08),
            shoulder_width: rng.range(0.185, 0.225),
            hip_width: rng.range(0.115, 0.14),
            torso: rng.range(0.285, 0.315),
            neck: rng.range(0.028, 0.038),
            upper_arm: 0.185 * s * rng.range(0.97, 1.03),
            forearm: 0.15 * s * rng.range(0.97, 1.03),
            hand: 0.105 * rng.range(0.95, 1.05),
            thigh: 0.25 * rng.range(0.96, 1.04),
            shin: 0.235 * rng.range(0.96, 1.04),
            girth,
            bulk,
            // Cap, short, three-quarter and long sleeves; none ends at the elbow, which would
            // read as one.
            sleeve: rng.pick(&[0.0, 0.25, 0.78, 1.0]),
            top_fit: rng.pick(&[TopFit::Fitted, TopFit::Loose]),
            top_pattern,
            bottom,
            bottom_pattern,
            hair_style: rng.pick(&[
                HairStyle::Short,
                HairStyle::Long,
                HairStyle::Bun,
                HairStyle::Curly,
            ]),
            framing: Framing {
                x: rng.range(-1.0, 1.0),
                y: rng.range(0.15, 0.5),
            },
            drift: Drift::random(&mut rng),
        }
    }

    /// Head top to sole when standing straight, in stature units (close to 1).
    pub(crate) fn stature(&self) -> f32 {
        self.head_size * super::body::HEAD_RY * 2.0
            + self.neck
            + self.torso
            + self.thigh
            + self.shin
            + super::body::ANKLE_HEIGHT
    }
}

/// A print for a garment of colour `base`, in a colour that shows on it and is not skin.
fn print(rng: &mut SplitMix64, base: Rgb, skin: Rgb) -> Pattern {
    let light = [236, 234, 226];
    let dark = [30, 28, 32];
    let contrast = if distance(base, light) > distance(base, dark) {
        light
    } else {
        dark
    };
    let colour = if rng.unit() < 0.5 {
        contrast
    } else {
        distinct_colour(rng, &[base, skin], 0.3)
    };
    Pattern::random(rng, colour)
}

/// Measured skin tones from very light to very dark; a seed picks a point on this curve.
const SKIN_TONES: [Rgb; 7] = [
    [255, 226, 200],
    [241, 196, 164],
    [224, 172, 130],
    [198, 136, 96],
    [160, 104, 68],
    [118, 76, 50],
    [82, 54, 38],
];

fn skin_tone(u: f32, rng: &mut SplitMix64) -> Rgb {
    let x = u.clamp(0.0, 1.0) * (SKIN_TONES.len() - 1) as f32;
    let i = (x.floor() as usize).min(SKIN_TONES.len() - 2);
    let base = mix(SKIN_TONES[i], SKIN_TONES[i + 1], x - i as f32);
    // A little warmth/olive variation, small enough to stay a skin colour.
    let warm = rng.range(-8.0, 8.0);
    [
        (base[0] as f32 + warm).clamp(0.0, 255.0) as u8,
        base[1],
        (base[2] as f32 - warm).clamp(0.0, 255.0) as u8,
    ]
}

fn hair_colour(skin: Rgb, rng: &mut SplitMix64) -> Rgb {
    let options: [Rgb; 7] = [
        [20, 16, 14],
        [44, 30, 22],
        [82, 54, 34],
        [120, 80, 45],
        [150, 70, 40],
        [200, 170, 110],
        [150, 150, 150],
    ];
    // Hair must stand out from the face or the head loses its outline.
    for _ in 0..8 {
        let h = rng.pick(&options);
        if distance(h, skin) > 0.25 {
            return h;
        }
    }
    options[0]
}

fn random_backdrop(rng: &mut SplitMix64) -> Backdrop {
    // Muted, fairly light rooms: people stand out against them as they would indoors.
    let hue = rng.unit();
    let sat = rng.range(0.05, 0.25);
    let val = rng.range(0.75, 0.95);
    let wall_top = hsv(hue, sat, val);
    let wall_bottom = shade(wall_top, rng.range(0.8, 0.9));
    let floor = hsv(rng.unit(), rng.range(0.1, 0.35), rng.range(0.35, 0.6));
    Backdrop {
        wall_top,
        wall_bottom,
        floor,
    }
}

/// Common clothing colours; random hues fill in when none of them stands out.
const SHIRTS: [Rgb; 12] = [
    [236, 236, 230],
    [34, 34, 38],
    [128, 128, 132],
    [32, 44, 84],
    [124, 30, 42],
    [88, 100, 50],
    [204, 160, 52],
    [30, 112, 120],
    [228, 150, 170],
    [128, 170, 220],
    [190, 60, 40],
    [70, 50, 110],
];
const TROUSERS: [Rgb; 8] = [
    [50, 76, 122],
    [34, 44, 74],
    [30, 30, 32],
    [110, 110, 116],
    [172, 150, 110],
    [100, 70, 50],
    [84, 90, 60],
    [226, 224, 216],
];
const SHOES: [Rgb; 7] = [
    [28, 26, 26],
    [236, 236, 232],
    [96, 60, 36],
    [120, 120, 124],
    [180, 40, 40],
    [34, 44, 90],
    [210, 190, 150],
];

/// A palette colour, or else a random one, at least `min_dist` from everything in `avoid`.
fn clothing(rng: &mut SplitMix64, palette: &[Rgb], avoid: &[Rgb], min_dist: f32) -> Rgb {
    for _ in 0..8 {
        let c = rng.pick(palette);
        if avoid.iter().all(|&a| distance(a, c) >= min_dist) {
            return c;
        }
    }
    distinct_colour(rng, avoid, min_dist)
}

/// A saturated-enough clothing colour at least `min_dist` from every colour in `avoid`.
fn distinct_colour(rng: &mut SplitMix64, avoid: &[Rgb], min_dist: f32) -> Rgb {
    let mut best = ([0, 0, 0], -1.0);
    for _ in 0..64 {
        let c = hsv(rng.unit(), rng.range(0.25, 0.7), rng.range(0.2, 0.85));
        let d = avoid
            .iter()
            .map(|&a| distance(a, c))
            .fold(f32::INFINITY, f32::min);
        if d >= min_dist {
            return c;
        }
        if d > best.1 {
            best = (c, d);
        }
    }
    best.0
}

/// Euclidean RGB distance scaled to 0..1 (1 = black to white is about 1.0).
pub(crate) fn distance(a: Rgb, b: Rgb) -> f32 {
    let d: f32 = (0..3)
        .map(|i| (a[i] as f32 - b[i] as f32).powi(2))
        .sum::<f32>();
    d.sqrt() / (255.0 * 3f32.sqrt())
}

pub(crate) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let f = |x: u8, y: u8| {
        (x as f32 + (y as f32 - x as f32) * t)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2])]
}

/// Scales brightness: below 1 darkens, above 1 lightens (saturating).
pub(crate) fn shade(c: Rgb, k: f32) -> Rgb {
    let f = |x: u8| (x as f32 * k).round().clamp(0.0, 255.0) as u8;
    [f(c[0]), f(c[1]), f(c[2])]
}

fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h6 = (h.rem_euclid(1.0)) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h6 % 2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    let f = |u: f32| ((u + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [f(r), f(g), f(b)]
}
