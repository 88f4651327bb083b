//! What can go wrong in the pose stage, one variant per cause. A frame without a person is
//! not among them: that is an empty [`crate::Skeleton`].

use std::path::PathBuf;

use crate::pose::assets::AssetError;

/// A failure of the pose stage. ONNX Runtime's own errors are neither `Send` nor `Sync`, so
/// they are kept as their message.
#[derive(Debug, thiserror::Error)]
pub enum PoseError {
    /// A model file or the ONNX Runtime library is missing or will not load.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// ONNX Runtime refused to build a session from a model file.
    #[error("could not create an ONNX Runtime session from {path}: {reason}")]
    Session { path: PathBuf, reason: String },
    /// A model ran and failed.
    #[error("{model} inference failed: {reason}")]
    Inference { model: &'static str, reason: String },
    /// A model lacks an output the decoder needs (a different model in the same file name).
    #[error("{model} has no output {name} (outputs: {available})")]
    MissingOutput {
        model: &'static str,
        name: &'static str,
        available: String,
    },
    /// An output has a shape the decoder does not know how to read.
    #[error("{model} output {name} has shape {actual:?}, expected {expected:?}")]
    OutputShape {
        model: &'static str,
        name: &'static str,
        actual: Vec<i64>,
        expected: Vec<i64>,
    },
    /// The image has no pixels.
    #[error("cannot estimate pose on an empty {width}x{height} image")]
    EmptyImage { width: u32, height: u32 },
}
