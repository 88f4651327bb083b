//! What the commands do, as library entry points: each job is a validated configuration
//! plus one `run`. The binaries only parse flags into these and report the outcome.

pub mod dataset;
pub mod eval;
pub mod init_training;
pub mod personalize;
pub mod pose;
pub mod prepare;
pub mod progress;
pub mod serve;
pub mod stream;
pub mod synth;

use std::path::PathBuf;

use crate::graph::PipelineError;
use crate::pose::PoseError;
use crate::stream::StreamError;

/// Why a job failed, by the part that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Pose(#[from] PoseError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Checkpoint(#[from] crate::model::CheckpointError),
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    #[error(transparent)]
    Torch(#[from] crate::model::TorchError),
    #[error(transparent)]
    Examples(#[from] crate::model::examples::ExamplesError),
    #[error(transparent)]
    Device(#[from] crate::model::device::NoCuda),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    /// Ctrl-C came before the job could finish what it writes; says what is left unfinished.
    #[error("interrupted: {0}")]
    Interrupted(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read image {path}: {reason}")]
    Image { path: PathBuf, reason: String },
    #[error("cannot draw {path}: {reason}")]
    Plot { path: PathBuf, reason: String },
    #[error("{0}")]
    InvalidArgument(String),
}

impl JobError {
    pub(crate) fn write(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| JobError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Panel sizes the encoders and the renderer accept.
pub fn check_size(size: u32) -> Result<u32, JobError> {
    if !(64..=4096).contains(&size) || size % 2 != 0 {
        return Err(JobError::InvalidArgument(format!(
            "--size {size}: use an even number of pixels from 64 to 4096"
        )));
    }
    Ok(size)
}

/// Sides of the frames training reads: what every generator preset takes
/// ([`crate::model::SIZE_MULTIPLE`]), so that a prepared target fits whichever one learns
/// from it.
pub fn check_training_size(size: u32) -> Result<u32, JobError> {
    let who = "training (every generator preset)";
    crate::model::BadSize::check(size, crate::model::SIZE_MULTIPLE, who)
        .map_err(|e| JobError::InvalidArgument(format!("--size {e}")))?;
    check_size(size)
}
