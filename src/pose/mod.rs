//! Pose estimation: BlazePose detector + landmark model on ONNX Runtime.
