//! The skeleton every stage passes along: BlazePose's 33 landmarks in source pixels.
//!
//! Landmark order and meaning are BlazePose's (MediaPipe 0.10.21). "Left" is the person's
//! left, which is on the image's right for a person facing the camera.

use serde::{Deserialize, Serialize};

/// Number of body landmarks BlazePose reports.
pub const NUM_LANDMARKS: usize = 33;

/// Landmark names in model order.
pub const LANDMARK_NAMES: [&str; NUM_LANDMARKS] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// Named indices for the landmarks code refers to directly.
pub mod idx {
    pub const NOSE: usize = 0;
    pub const LEFT_SHOULDER: usize = 11;
    pub const RIGHT_SHOULDER: usize = 12;
    pub const LEFT_ELBOW: usize = 13;
    pub const RIGHT_ELBOW: usize = 14;
    pub const LEFT_WRIST: usize = 15;
    pub const RIGHT_WRIST: usize = 16;
    pub const LEFT_HIP: usize = 23;
    pub const RIGHT_HIP: usize = 24;
    pub const LEFT_KNEE: usize = 25;
    pub const RIGHT_KNEE: usize = 26;
    pub const LEFT_ANKLE: usize = 27;
    pub const RIGHT_ANKLE: usize = 28;
}

/// One landmark: position in source pixels, relative depth on the x scale, and the model's
/// visibility and presence probabilities (both in 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Landmark {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub visibility: f32,
    pub presence: f32,
}

impl Landmark {
    /// Whether the model considers the landmark visible (MediaPipe's own 0.5 cut).
    pub fn is_visible(&self) -> bool {
        self.visibility >= 0.5
    }

    /// Euclidean distance in the image plane.
    pub fn distance(&self, other: &Landmark) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// The pose found in one frame; `landmarks` is empty when no person was found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Skeleton {
    pub landmarks: Vec<Landmark>,
}

impl Skeleton {
    /// A frame with nobody in it.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn found(&self) -> bool {
        self.landmarks.len() == NUM_LANDMARKS
    }

    /// Builds a fully visible skeleton from plain pixel positions (synthetic people, tests).
    pub fn from_points(points: &[[f32; 2]; NUM_LANDMARKS]) -> Self {
        let landmarks = points
            .iter()
            .map(|&[x, y]| Landmark {
                x,
                y,
                z: 0.0,
                visibility: 1.0,
                presence: 1.0,
            })
            .collect();
        Self { landmarks }
    }
}
