//! Pose stage timings: the detector, the landmark model (as tracking runs it, and the full
//! model with the segmentation decoder, side by side), the ROI warp, and a whole frame with
//! tracking (the detector then runs only when the person is lost).
//!
//! Input: the synthetic demo dancer at 512x512, so the bench needs no footage. Run with
//! `make bench` (or `cargo bench --bench pose`); figures go in docs/BENCHMARKS.md.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use metapix::pose::assets::{model_file, models_dir};
use metapix::pose::landmark::{LandmarkModel, LANDMARK_FILE};
use metapix::pose::warp::{Border, Warp};
use metapix::pose::{PoseConfig, PoseEstimator};
use metapix::synth::SyntheticPerson;

const SIZE: u32 = 512;
const FPS: f32 = 30.0;

fn pose_stage(c: &mut Criterion) {
    let person = SyntheticPerson::demo();
    let frames: Vec<_> = (0..60)
        .map(|i| person.render(i as f32 / FPS, SIZE, SIZE).0)
        .collect();
    let mut est = PoseEstimator::new(&PoseConfig::default()).expect("pose models: run make setup");
    let first = est.process(&frames[0], Duration::ZERO).unwrap();
    assert!(first.found(), "the dancer is detected");

    let mut group = c.benchmark_group("pose");
    group.sample_size(30);
    let (detector, landmarks) = est.models();
    let detection = detector.detect(&frames[0]).unwrap()[0].clone();
    let roi = detection.roi(SIZE, SIZE);
    group.bench_function("detector 224", |b| {
        b.iter(|| detector.detect(&frames[0]).unwrap())
    });
    group.bench_function("landmark tracking 256", |b| {
        b.iter(|| landmarks.run(&frames[0], &roi).unwrap())
    });
    let full = model_file(&models_dir(None), LANDMARK_FILE).expect("pose models: run make setup");
    let mut full = LandmarkModel::new(&full, None, 1).unwrap();
    group.bench_function("landmark full 256", |b| {
        b.iter(|| full.run(&frames[0], &roi).unwrap())
    });
    let warp = Warp::new(256, Border::Replicate, [0.0, 1.0]);
    let mut buf = vec![0.0; warp.tensor_len()];
    group.bench_function("roi warp 256", |b| {
        b.iter(|| warp.sample(&frames[0], &roi, &mut buf))
    });

    let mut i = 0usize;
    group.bench_function("frame with tracking", |b| {
        b.iter(|| {
            let t = Duration::from_secs_f32(i as f32 / FPS);
            let s = est.process(&frames[i % frames.len()], t).unwrap();
            i += 1;
            s
        })
    });
    group.finish();
    println!(
        "detector ran {} times over {} tracked frames",
        est.detector_runs(),
        i + 1
    );
}

criterion_group!(benches, pose_stage);
criterion_main!(benches);
