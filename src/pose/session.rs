//! ONNX Runtime plumbing shared by the two models: building a session with the thread
//! settings that suit a small CPU, running it on one NHWC tensor, reading outputs by name.

use std::path::Path;

use ort::session::{Session, SessionOutputs};
use ort::value::TensorRef;

use crate::pose::PoseError;

/// Builds a CPU session for `path`. One intra-op thread is the default; with more, spinning
/// is turned off, or the extra threads only steal time from the rest of the pipeline.
pub(crate) fn open(path: &Path, intra_threads: usize) -> Result<Session, PoseError> {
    let env = crate::pose::assets::onnx_environment(None)?;
    let fail = |reason: String| PoseError::Session {
        path: path.to_path_buf(),
        reason,
    };
    let threads = intra_threads.max(1);
    let mut builder = Session::builder(env)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?;
    if threads > 1 {
        builder = builder
            .with_intra_op_spinning(false)
            .map_err(|e| fail(e.to_string()))?;
    }
    builder
        .commit_from_file(path)
        .map_err(|e| fail(e.to_string()))
}

/// Runs `session` on one f32 input tensor of `shape`.
pub(crate) fn run<'s>(
    session: &'s mut Session,
    model: &'static str,
    input: &[f32],
    shape: [usize; 4],
) -> Result<SessionOutputs<'s>, PoseError> {
    let fail = |reason: String| PoseError::Inference { model, reason };
    let tensor = TensorRef::from_array_view((shape, input)).map_err(|e| fail(e.to_string()))?;
    session
        .run(ort::inputs![tensor])
        .map_err(|e| fail(e.to_string()))
}

/// The f32 data of output `name`, checked against the `expected` shape.
pub(crate) fn output<'a>(
    outputs: &'a SessionOutputs<'_>,
    model: &'static str,
    name: &'static str,
    expected: &[i64],
) -> Result<&'a [f32], PoseError> {
    let value = outputs.get(name).ok_or_else(|| PoseError::MissingOutput {
        model,
        name,
        available: outputs.keys().collect::<Vec<_>>().join(", "),
    })?;
    let (shape, data) = value
        .try_extract_tensor::<f32>()
        .map_err(|e| PoseError::Inference {
            model,
            reason: format!("output {name}: {e}"),
        })?;
    if &shape[..] != expected {
        return Err(PoseError::OutputShape {
            model,
            name,
            actual: shape.to_vec(),
            expected: expected.to_vec(),
        });
    }
    Ok(data)
}
