//! metapix: few-shot human motion retargeting as a real-time video system.
//!
//! The folders are the layers, each using only those listed before it:
//! - [`base`]: the shared vocabulary (frames, skeletons, pose files, statistics, atomic
//!   files), no models and no threads.
//! - The stages and the models, plain processors with no thread code: [`pose`] (BlazePose
//!   on ONNX Runtime), [`render`] (normalization into the target's frame, pose maps, stick
//!   figures), [`stream`] (frame sources and sinks: GStreamer decode, encode, RTSP),
//!   [`synth`] (synthetic people), [`model`] (the generator architectures and their
//!   checkpoints), [`generate`] (a checkpoint turned into frames, for inference) and
//!   [`train`] (personalization, Reptile, the benchmark's metrics). Inference never uses
//!   training: `generate` and `model` do not import `train`.
//! - [`graph`]: the stage-graph runtime. It runs the stages on their own threads, joined by
//!   bounded links: source -> pose -> generate -> render -> sink.
//! - [`jobs`]: what each command does, as a validated configuration and one `run`.
//!
//! The binaries parse flags into jobs, set up logging and Ctrl-C, and turn errors into one
//! line; the library logs through `tracing`.

pub mod base;
pub mod generate;
pub mod graph;
pub mod jobs;
pub mod model;
pub mod pose;
pub mod render;
pub mod stream;
pub mod synth;
pub mod train;

pub use base::frame::{Frame, RgbImage};
pub use base::skeleton::{Landmark, Skeleton};

/// The layering above, checked on the source: a module may name only the modules before it
/// (a test rather than a convention, so an import from training into inference, or a cycle,
/// fails `make test`).
#[cfg(test)]
mod layering {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Each module and the modules its non-test code may use. Listed in layer order, so
    /// every module uses only modules listed before it: no cycle can form.
    const ALLOWED: &[(&str, &[&str])] = &[
        ("base", &[]),
        ("pose", &["base"]),
        ("render", &["base"]),
        ("stream", &["base"]),
        ("synth", &["base", "stream"]),
        ("model", &["base", "render"]),
        ("generate", &["base", "render", "model"]),
        ("train", &["base", "render", "model"]),
        ("graph", &["base", "pose", "render", "stream", "generate"]),
        (
            "jobs",
            &[
                "base", "pose", "render", "stream", "synth", "model", "generate", "train", "graph",
            ],
        ),
    ];

    /// The first segment of every `crate::` path in `code`, braces expanded; names that are
    /// not modules (the re-exported base types) count as `base`.
    fn crate_paths(code: &str, modules: &BTreeSet<&str>) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        let mut note = |name: &str| {
            let name = name.trim().split("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                let module = if modules.contains(name) { name } else { "base" };
                used.insert(module.to_string());
            }
        };
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // Top-level items of the brace group.
                let (mut depth, mut item) = (0, String::new());
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            note(&item);
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                note(&item);
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                note(&rest[..end]);
            }
        }
        used
    }

    /// A file's code without comments and without its `#[cfg(test)]` module.
    fn production_code(text: &str) -> String {
        let text = match text.find("#[cfg(test)]\nmod tests {") {
            Some(at) => &text[..at],
            None => text,
        };
        text.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn each_layer_uses_only_the_layers_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let modules: BTreeSet<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
        let mut checked = 0;
        for (module, allowed) in ALLOWED {
            let mut files = Vec::new();
            rust_files(&src.join(module), &mut files);
            assert!(!files.is_empty(), "src/{module} holds no code");
            for file in files {
                let name = file.file_name().unwrap().to_string_lossy();
                if name == "tests.rs" || name.ends_with("_tests.rs") {
                    continue;
                }
                let code = production_code(&std::fs::read_to_string(&file).unwrap());
                for used in crate_paths(&code, &modules) {
                    assert!(
                        used == *module || allowed.contains(&used.as_str()),
                        "{} uses crate::{used}, which {module} may not use",
                        file.display()
                    );
                }
                checked += 1;
            }
        }
        // Every module folder is listed, so none escapes the check.
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !path.is_dir() || name == "bin" || modules.contains(name.as_str()),
                "src/{name} is not in the layer list"
            );
        }
        println!("{checked} files follow the layering");
    }

    #[test]
    fn the_checker_sees_grouped_and_plain_paths() {
        let modules: BTreeSet<&str> = ["base", "model", "train"].into();
        let code = "use crate::{model::io::{a, b}, Skeleton};\nlet x = crate::train::f();";
        let used = crate_paths(code, &modules);
        assert_eq!(used, ["base", "model", "train"].map(String::from).into());
    }
}
