//! metapix: few-shot human motion retargeting as a real-time video system.
//!
//! Frames flow through stages joined by bounded channels (see [`pipeline`]):
//! decode (GStreamer, [`stream`]) -> [`pose`] (BlazePose on ONNX Runtime) -> [`render`]
//! (pose maps for the generator, stick figures for people) -> encode ([`stream`]).
//! [`synth`] draws synthetic people with exact ground truth for demos and tests.

pub mod assets;
pub mod frame;
pub mod pose;
pub mod skeleton;

pub use frame::{Frame, RgbImage};
pub use skeleton::{Landmark, Skeleton};
