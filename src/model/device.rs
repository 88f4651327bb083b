//! Where the generator runs: CUDA when asked for or available, else the CPU.
//!
//! The linker drops libtorch_cuda.so (nothing references it by symbol), so CUDA never
//! registers by itself; loading it by name before the first CUDA query fixes that, and fails
//! quietly where only the CPU libraries exist (this machine, CI). It must happen before any
//! other libtorch call: libtorch asks for its CUDA hooks once and caches the answer, so call
//! [`select`] first thing.

use std::sync::OnceLock;

use tch::Device;

/// The user's choice (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, thiserror::Error)]
#[error("--device cuda: no CUDA device is available to libtorch ({0})")]
pub struct NoCuda(String);

/// Loads libtorch's CUDA half once, if it is installed; says why not otherwise.
fn load_cuda() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
            // SAFETY: loading libtorch_cuda runs its static initializers, which register the
            // CUDA backend with the libtorch already loaded; nothing else is called.
            let lib = unsafe { Library::open(Some("libtorch_cuda.so"), RTLD_NOW | RTLD_GLOBAL) };
            lib.map(std::mem::forget).map_err(|e| e.to_string())
        })
        .clone()
}

/// Resolves the choice to a device.
pub fn select(choice: DeviceChoice) -> Result<Device, NoCuda> {
    if choice == DeviceChoice::Cpu {
        return Ok(Device::Cpu);
    }
    let loaded = load_cuda();
    if tch::Cuda::is_available() {
        return Ok(Device::Cuda(0));
    }
    match choice {
        DeviceChoice::Cuda => Err(NoCuda(
            loaded.err().unwrap_or_else(|| "no GPU found".into()),
        )),
        _ => Ok(Device::Cpu),
    }
}
