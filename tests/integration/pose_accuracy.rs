//! The Rust pose stage against the real MediaPipe (mp.solutions.pose 0.10.21), whose
//! landmarks `scripts/reference.sh` wrote for every still and clip of the shared footage.
//! Both run the same models with the same settings (full model, no landmark smoothing,
//! thresholds 0.5, clips as video with MediaPipe's simulated 30 fps timestamps).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use metapix::pose::{PoseConfig, PoseEstimator};
use metapix::stream::{open_input, InputSpec};
use metapix::{RgbImage, Skeleton};
use serde::Deserialize;

use crate::util;

#[derive(Deserialize)]
struct Reference {
    source: String,
    mode: String,
    frames: Vec<RefFrame>,
}

#[derive(Deserialize)]
struct RefFrame {
    found: bool,
    landmarks: Vec<[f32; 5]>,
}

/// MediaPipe's Python API feeds frame i at (i + 1) · 33333 µs, whatever the clip's rate.
fn mediapipe_timestamp(index: usize) -> Duration {
    Duration::from_micros(33_333 * (index as u64 + 1))
}

fn estimate(path: &Path, mode: &str) -> Vec<Skeleton> {
    let config = PoseConfig {
        smoothing: None,
        static_images: mode == "static",
        ..PoseConfig::default()
    };
    let mut est = PoseEstimator::new(&config).expect("pose models (make setup)");
    if mode == "static" {
        let image = RgbImage::open(path).expect("readable still");
        return vec![est.process(&image, mediapipe_timestamp(0)).unwrap()];
    }
    let spec = InputSpec::File(path.to_path_buf());
    let mut source = open_input(&spec, Arc::new(AtomicBool::new(false)))
        .expect("decodable clip")
        .into_source();
    let mut out = Vec::new();
    while let Some(frame) = source.next_frame().unwrap() {
        out.push(
            est.process(&frame.image, mediapipe_timestamp(out.len()))
                .unwrap(),
        );
    }
    out
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[test]
fn landmarks_match_mediapipe_within_two_pixels() {
    let Some(data) = util::data_dir() else { return };
    let dir = metapix::pose::assets::cache_dir().join("reference");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "no MediaPipe reference in {} ({e}): run make test",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "expected the reference for 28 stills and 3 clips, found {}",
        files.len()
    );

    let mut all = Vec::new();
    let (mut frames, mut agree) = (0, 0);
    println!(
        "{:34} {:6} {:>7} {:>8} {:>9} {:>8}",
        "input", "mode", "frames", "agree", "median", "p95 px"
    );
    for file in &files {
        let reference: Reference = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let ours = estimate(&data.join(&reference.source), &reference.mode);
        assert_eq!(
            ours.len(),
            reference.frames.len(),
            "{}: frame count",
            reference.source
        );
        let mut errors = Vec::new();
        let mut input_agree = 0;
        for (mine, theirs) in ours.iter().zip(&reference.frames) {
            input_agree += usize::from(mine.found() == theirs.found);
            if !(mine.found() && theirs.found) {
                continue;
            }
            for (m, t) in mine.landmarks.iter().zip(&theirs.landmarks) {
                if t[3] >= 0.5 {
                    errors.push((m.x - t[0]).hypot(m.y - t[1]));
                }
            }
        }
        frames += ours.len();
        agree += input_agree;
        let name = Path::new(&reference.source)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if errors.is_empty() {
            println!(
                "{name:34} {:6} {:>7} {:>8}",
                reference.mode,
                ours.len(),
                input_agree
            );
            continue;
        }
        all.extend_from_slice(&errors);
        let med = median(&mut errors);
        let p95 = errors[errors.len() * 95 / 100];
        println!(
            "{name:34} {:6} {:>7} {:>8} {med:>9.3} {p95:>8.2}",
            reference.mode,
            ours.len(),
            input_agree
        );
    }
    let overall = median(&mut all);
    let p95 = all[all.len() * 95 / 100];
    println!(
        "overall: {} visible landmarks, median error {overall:.3} px, p95 {p95:.2} px; \
         person found/not found agrees in {agree}/{frames} frames",
        all.len()
    );
    assert!(overall <= 2.0, "median error {overall:.3} px > 2 px");
    assert!(
        agree * 100 >= frames * 98,
        "found flags agree in only {agree}/{frames} frames"
    );
}
