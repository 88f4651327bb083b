//! Where the generator runs: CUDA when asked for or available, else the CPU.
//!
//! The linker drops libtorch_cuda.so (nothing references it by symbol), so CUDA never
//! registers by itself; loading it by name before the first CUDA query fixes that, and fails
//! quietly where only the CPU libraries exist (this machine, CI). It must happen before any
//! other libtorch call: libtorch asks for its CUDA hooks once and caches the answer, so call
//! [`select`] first thing.

use std::sync::OnceLock;

use tch::{Device, Kind};

use super::cuda_graph::{self, HostSync};

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
        let device = Device::Cuda(0);
        set_host_sync(device);
        return Ok(device);
    }
    match choice {
        DeviceChoice::Cuda => Err(NoCuda(
            loaded.err().unwrap_or_else(|| "no GPU found".into()),
        )),
        _ => Ok(Device::Cpu),
    }
}

/// How host threads wait for `device` (`METAPIX_CUDA_SYNC`), once, before its first work.
fn set_host_sync(device: Device) {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| match HostSync::from_env() {
        Ok(None) => {}
        Ok(Some(sync)) => {
            if let Err(e) = cuda_graph::set_host_sync(device, sync) {
                tracing::warn!("{e}: CUDA chooses how threads wait");
            }
        }
        Err(value) => tracing::warn!(
            "METAPIX_CUDA_SYNC={value} is none of auto, spin, yield, blocking: ignored"
        ),
    });
}

/// What a generator's weights and inputs are for inference on `device`: bf16 on CUDA, and on
/// CPUs with bf16 instructions (AVX-512 BF16; AMX chips have it too), where oneDNN's bf16
/// convolutions took a Posewarp lite frame from 46 to 23 ms on two cores; f32 on other CPUs,
/// which would emulate bf16 more slowly than they run f32. `METAPIX_PRECISION=f32` (or
/// `bf16`) overrides the choice.
pub fn inference_kind(device: Device) -> Kind {
    match std::env::var("METAPIX_PRECISION").as_deref() {
        Ok("f32") => Kind::Float,
        Ok("bf16") => Kind::BFloat16,
        _ if device.is_cuda() || cpu_has_bf16() => Kind::BFloat16,
        _ => Kind::Float,
    }
}

fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
