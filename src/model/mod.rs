//! The generator and its checkpoints (tch: CUDA when present, else CPU).

pub mod checkpoint;
pub mod device;
pub mod discriminator;
pub mod pose2im;
#[cfg(test)]
mod tests;

pub use checkpoint::{CheckpointError, CheckpointMeta};

/// The shipped default avatar (models/README.md says how it was trained), built into the
/// binaries so `metapix-stream drive.mp4 out.mp4` works from any folder with nothing given.
pub const DEFAULT_AVATAR: &[u8] = include_bytes!("../../models/default-avatar.safetensors");

/// How the default avatar is named in messages.
pub const DEFAULT_AVATAR_NAME: &str = "the built-in default avatar";

/// The shipped meta-learned initialization (Reptile across synthetic people, with its
/// discriminator; models/README.md), where `metapix personalize` starts by default.
pub const METAPIX_INIT: &[u8] = include_bytes!("../../models/metapix-init-lite.safetensors");

/// How the meta-learned initialization is named in messages.
pub const METAPIX_INIT_NAME: &str = "the built-in meta-learned init";
pub use device::DeviceChoice;
pub use pose2im::{Pose2Im, Pose2ImConfig};
