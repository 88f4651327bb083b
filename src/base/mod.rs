//! The shared vocabulary every layer uses: frames, skeletons, pose files, run statistics,
//! frame stamps, atomic files and the seeded generator. No models, no threads.

pub mod frame;
pub mod fsutil;
pub mod posefile;
pub(crate) mod rng;
pub mod skeleton;
pub mod stamp;
pub mod stats;
