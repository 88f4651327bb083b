//! The generator and its checkpoints (tch: CUDA when present, else CPU).

pub mod checkpoint;
pub mod device;
pub mod discriminator;
pub mod pose2im;
#[cfg(test)]
mod tests;

pub use checkpoint::{CheckpointError, CheckpointMeta};
pub use device::DeviceChoice;
pub use pose2im::{Pose2Im, Pose2ImConfig};
