//! Gives every binary (tests included) a run path to libtorch, so the binaries run from any
//! directory without LD_LIBRARY_PATH; tch's own build sets none.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
