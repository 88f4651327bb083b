//! The body parts that become the generator's input channels, one channel per part, as
//! MetaPix's label map has one channel per body part.

/// A body part: a name and the polyline of landmark indices that draws it.
#[derive(Debug, Clone, Copy)]
pub struct BodyPart {
    pub name: &'static str,
    pub chain: &'static [usize],
    /// Colour of the part in stick figures (OpenPose-like rainbow, left warm, right cool).
    pub colour: [u8; 3],
}

/// Number of pose-map channels.
pub const NUM_PARTS: usize = 18;

/// Channel order of the pose map. Changing it changes the generator's input: checkpoints
/// record the format, so bump `POSE_MAP_FORMAT` in the same change.
pub const BODY_PARTS: [BodyPart; NUM_PARTS] = [
    BodyPart {
        name: "face",
        chain: &[7, 2, 0, 5, 8],
        colour: [255, 255, 255],
    },
    BodyPart {
        name: "mouth",
        chain: &[9, 10],
        colour: [255, 170, 170],
    },
    BodyPart {
        name: "shoulders",
        chain: &[11, 12],
        colour: [255, 85, 0],
    },
    BodyPart {
        name: "hips",
        chain: &[23, 24],
        colour: [0, 170, 255],
    },
    BodyPart {
        name: "left_flank",
        chain: &[11, 23],
        colour: [255, 170, 0],
    },
    BodyPart {
        name: "right_flank",
        chain: &[12, 24],
        colour: [0, 255, 170],
    },
    BodyPart {
        name: "left_upper_arm",
        chain: &[11, 13],
        colour: [255, 255, 0],
    },
    BodyPart {
        name: "left_forearm",
        chain: &[13, 15],
        colour: [170, 255, 0],
    },
    BodyPart {
        name: "right_upper_arm",
        chain: &[12, 14],
        colour: [0, 255, 255],
    },
    BodyPart {
        name: "right_forearm",
        chain: &[14, 16],
        colour: [0, 170, 255],
    },
    BodyPart {
        name: "left_hand",
        chain: &[21, 15, 19, 17, 15],
        colour: [85, 255, 0],
    },
    BodyPart {
        name: "right_hand",
        chain: &[22, 16, 20, 18, 16],
        colour: [0, 85, 255],
    },
    BodyPart {
        name: "left_thigh",
        chain: &[23, 25],
        colour: [255, 0, 85],
    },
    BodyPart {
        name: "left_shin",
        chain: &[25, 27],
        colour: [255, 0, 170],
    },
    BodyPart {
        name: "right_thigh",
        chain: &[24, 26],
        colour: [85, 0, 255],
    },
    BodyPart {
        name: "right_shin",
        chain: &[26, 28],
        colour: [170, 0, 255],
    },
    BodyPart {
        name: "left_foot",
        chain: &[27, 29, 31, 27],
        colour: [255, 0, 255],
    },
    BodyPart {
        name: "right_foot",
        chain: &[28, 30, 32, 28],
        colour: [0, 0, 255],
    },
];
