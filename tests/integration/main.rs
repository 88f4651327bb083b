//! Integration tests: the real binaries, GStreamer, ONNX Runtime and BlazePose, on real and
//! generated footage. One binary, split by topic.

mod errors;
mod faults;
mod generate;
mod live;
mod pose_accuracy;
mod pose_cli;
mod serve;
mod stream;
mod training;
mod util;
