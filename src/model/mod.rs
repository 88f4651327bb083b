//! The generator and its checkpoints (tch: CUDA when present, else CPU).

pub mod checkpoint;
pub mod device;
pub mod discriminator;
pub mod io;
pub mod pose2im;
pub mod rates;
#[cfg(test)]
mod tests;

pub use checkpoint::{CheckpointError, CheckpointMeta};

/// A checkpoint built into the binaries, so it works from any folder with nothing given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// How it is named in messages.
    pub name: &'static str,
    pub bytes: &'static [u8],
}

impl Builtin {
    /// The generator, and the discriminator when the checkpoint carries one.
    pub fn load(&self, device: tch::Device) -> Result<checkpoint::Loaded, CheckpointError> {
        checkpoint::load_all_bytes(std::path::Path::new(self.name), self.bytes, device)
    }
}

/// The shipped default avatar (models/README.md says how it was trained): what
/// `metapix-stream drive.mp4 out.mp4` renders.
pub const DEFAULT_AVATAR: Builtin = Builtin {
    name: "the built-in default avatar",
    bytes: include_bytes!("../../models/default-avatar.safetensors"),
};

/// The shipped meta-learned initialization (Reptile across synthetic people, with its
/// discriminator; models/README.md), where `metapix personalize` starts by default.
pub const METAPIX_INIT: Builtin = Builtin {
    name: "the built-in meta-learned init",
    bytes: include_bytes!("../../models/metapix-init-lite.safetensors"),
};

pub use device::DeviceChoice;
pub use pose2im::{split_groups, Pose2Im, Pose2ImConfig};
