//! metapix: few-shot human motion retargeting as a real-time video system.
//!
//! Frames flow through stages joined by bounded channels (see [`pipeline`]):
//! decode (GStreamer, [`stream`]) -> [`pose`] (BlazePose on ONNX Runtime) -> [`render`]
//! (pose maps for the generator, stick figures for people) -> encode ([`stream`]).
//! [`jobs`] holds what each command does; the binaries only parse flags into jobs.

pub mod assets;
pub mod cli;
pub mod endpoints;
pub mod frame;
pub mod fsutil;
pub mod generate;
pub mod jobs;
pub mod link;
pub mod meter;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod pose;
pub mod posefile;
pub mod progress;
pub mod render;
pub(crate) mod rng;
pub mod skeleton;
pub mod stamp;
pub mod stats;
pub mod stream;
pub mod synth;
pub mod train;

pub use frame::{Frame, RgbImage};
pub use skeleton::{Landmark, Skeleton};
