//! The shared vocabulary every layer uses: frames, skeletons, pose files, run statistics,
//! frame stamps, atomic files and the seeded generator. No models, no threads.

pub mod frame;
pub mod fsutil;
pub mod posefile;
pub(crate) mod rng;
pub mod skeleton;
pub mod stamp;
pub mod stats;

/// What a panic said (its message, when it has one): caught panics are reported as text.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("no message")
}
