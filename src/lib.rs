//! metapix: few-shot human motion retargeting as a real-time video system.
//!
//! The folders are the layers, each using only those listed before it:
//! - [`base`]: the shared vocabulary (frames, skeletons, pose files, statistics, atomic
//!   files), no models and no threads.
//! - The stages and the models, plain processors with no thread code: [`pose`] (BlazePose
//!   on ONNX Runtime), [`render`] (normalization into the target's frame, pose maps, stick
//!   figures), [`stream`] (frame sources and sinks: GStreamer decode, encode, RTSP),
//!   [`synth`] (synthetic people), [`model`] (the generator architectures and their
//!   checkpoints), [`generate`] (a checkpoint turned into frames, for inference) and
//!   [`train`] (personalization, Reptile, the benchmark's metrics). Inference never uses
//!   training: `generate` and `model` do not import `train`.
//! - [`graph`]: the stage-graph runtime. It runs the stages on their own threads, joined by
//!   bounded links: source -> pose -> generate -> render -> sink.
//! - [`jobs`]: what each command does, as a validated configuration and one `run`.
//!
//! The binaries parse flags into jobs, set up logging and Ctrl-C, and turn errors into one
//! line; the library logs through `tracing`.

pub mod base;
pub mod generate;
pub mod graph;
pub mod jobs;
pub mod model;
pub mod pose;
pub mod render;
pub mod stream;
pub mod synth;
pub mod train;

pub use base::frame::{Frame, RgbImage};
pub use base::skeleton::{Landmark, Skeleton};
