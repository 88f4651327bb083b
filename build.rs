//! Gives every binary (tests included) a run path to libtorch, so the binaries run from any
//! directory without LD_LIBRARY_PATH; tch's own build sets none. Compiles the CUDA-graph shim
//! (src/model/cuda_graph.cpp) into a shared library the binaries embed: against libtorch's
//! headers and the CUDA runtime's (scripts/setup-libtorch.sh puts them beside libtorch). Where
//! those are missing the embedded library is empty and CUDA graphs are off.
use std::path::{Path, PathBuf};
use std::process::Command;

const SHIM: &str = "src/model/cuda_graph.cpp";

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=METAPIX_CUDA_INCLUDE");
    println!("cargo:rerun-if-changed={SHIM}");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .ok()
        .map(PathBuf::from);
    if let Some(dir) = &lib {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("libmetapix_cuda_graph.so");
    if let Err(why) = lib
        .ok_or("no libtorch path from torch-sys".into())
        .and_then(|l| shim(&l, &out))
    {
        println!("cargo:warning=no CUDA graphs in this build: {why}");
        std::fs::write(&out, []).expect("OUT_DIR is writable");
    }
}

/// Compiles the shim into `out`, with libtorch's headers next to `lib` (its lib folder).
fn shim(lib: &Path, out: &Path) -> Result<(), String> {
    let torch = lib.parent().ok_or("libtorch's lib folder has no parent")?;
    let cuda = std::env::var_os("METAPIX_CUDA_INCLUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|| torch.join("../nvidia/cu13/include"));
    if !cuda.join("crt/host_config.h").exists() {
        return Err(format!(
            "no CUDA runtime headers in {} (METAPIX_CUDA_INCLUDE)",
            cuda.display()
        ));
    }
    let compiler = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let status = Command::new(&compiler)
        .args([
            "-std=c++17",
            "-O2",
            "-fPIC",
            "-shared",
            "-D_GLIBCXX_USE_CXX11_ABI=1",
        ])
        .arg("-I")
        .arg(torch.join("include"))
        .arg("-I")
        .arg(&cuda)
        .arg(SHIM)
        .arg("-o")
        .arg(out)
        .status()
        .map_err(|e| format!("running {compiler}: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or(format!("{compiler} failed on {SHIM}"))
}
