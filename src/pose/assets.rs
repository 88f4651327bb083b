//! Finding what the binaries need at run time: the ONNX Runtime library and the pose models.
//!
//! Each is looked up in order: an explicit path (a command-line flag), an environment
//! variable, then the project's cache, which `make setup` fills. So after set-up the binaries
//! run from any directory with no environment variables.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable naming the cache root (default `~/.cache/metapix`).
pub const ENV_CACHE: &str = "METAPIX_CACHE";
/// Environment variable naming the folder that holds the ONNX pose models.
pub const ENV_MODELS: &str = "METAPIX_MODELS";
/// Environment variable naming the ONNX Runtime shared library (ort's own name).
pub const ENV_ORT_LIB: &str = "ORT_DYLIB_PATH";
/// The ONNX Runtime version the `api-30` build of ort is made for.
pub const ORT_VERSION: &str = "1.30.0";

/// What could not be found or loaded, with the places that were searched.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("ONNX Runtime library not found (looked in {searched}); run `make setup` or set {ENV_ORT_LIB}")]
    OrtLibraryMissing { searched: String },
    #[error("could not load ONNX Runtime from {path}: {reason}")]
    OrtLoad { path: PathBuf, reason: String },
    #[error(
        "pose model {name} not found (looked in {searched}); run `make setup` or set {ENV_MODELS}"
    )]
    ModelMissing { name: String, searched: String },
}

/// The cache root: `$METAPIX_CACHE`, else `$XDG_CACHE_HOME/metapix`, else `~/.cache/metapix`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(ENV_CACHE).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join("metapix");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("metapix")
}

/// The first of `candidates` that exists, or the list of places searched.
fn first_existing(candidates: &[PathBuf]) -> Result<PathBuf, String> {
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| {
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
}

/// Where the ONNX Runtime shared library is: `explicit`, then `$ORT_DYLIB_PATH`, then the cache.
pub fn ort_library(explicit: Option<&Path>) -> Result<PathBuf, AssetError> {
    let mut candidates = Vec::new();
    if let Some(p) = explicit {
        candidates.push(p.to_path_buf());
    } else {
        if let Some(p) = std::env::var_os(ENV_ORT_LIB).filter(|v| !v.is_empty()) {
            candidates.push(PathBuf::from(p));
        }
        let dir = cache_dir().join("onnxruntime");
        candidates.push(dir.join(format!("libonnxruntime.so.{ORT_VERSION}")));
    }
    first_existing(&candidates).map_err(|searched| AssetError::OrtLibraryMissing { searched })
}

/// Loads ONNX Runtime once per process and returns its environment, which sessions are built
/// in. Later calls return the first outcome, whatever path they name.
pub fn onnx_environment(
    explicit: Option<&Path>,
) -> Result<&'static ort::environment::Environment, AssetError> {
    static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, (PathBuf, String)>> =
        OnceLock::new();
    let outcome = match ENVIRONMENT.get() {
        Some(outcome) => outcome,
        None => {
            let path = ort_library(explicit)?;
            ENVIRONMENT.get_or_init(|| {
                let builder = ort::init_from(&path).map_err(|e| (path.clone(), e.to_string()))?;
                builder
                    .with_name("metapix")
                    .with_telemetry(false)
                    .build()
                    .map_err(|e| (path.clone(), e.to_string()))
            })
        }
    };
    outcome
        .as_ref()
        .map_err(|(path, reason)| AssetError::OrtLoad {
            path: path.clone(),
            reason: reason.clone(),
        })
}

/// The folder holding the pose models: `explicit`, then `$METAPIX_MODELS`, then the cache.
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(ENV_MODELS).filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    cache_dir().join("models")
}

/// The path of model `file_name` in `dir`, or an error naming where it was looked for.
pub fn model_file(dir: &Path, file_name: &str) -> Result<PathBuf, AssetError> {
    let path = dir.join(file_name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(AssetError::ModelMissing {
            name: file_name.to_string(),
            searched: dir.display().to_string(),
        })
    }
}
