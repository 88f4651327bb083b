//! Generator forward timings per preset and size: the lite preset on the CPU (live budget),
//! both presets on CUDA in bf16 where a GPU is present (synchronized inside the timed region).
//!
//! `cargo bench --bench generator`; on the GPU machine build with `--no-default-features`
//! (no GStreamer there) and run the bench binary with libtorch on LD_LIBRARY_PATH.

use criterion::{criterion_group, criterion_main, Criterion};
use metapix::model::cuda_graph::CapturedForward;
use metapix::model::device::{self, DeviceChoice};
use metapix::model::io::{joint_gaussians, PoseEncoder};
use metapix::model::{InputFormat, Pose2Im, Pose2ImConfig};
use metapix::render::NUM_PARTS;
use metapix::synth::SyntheticPerson;
use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

/// The architectures timed: our presets, the earlier lite shape, and the small one
/// docs/environment.md has PyTorch figures for (ngf 32, 3 downsamplings, 6 blocks), so the
/// two can be compared as a ratio.
fn config(name: &str) -> Pose2ImConfig {
    let channels = NUM_PARTS as i64;
    match name {
        "ref-small" => Pose2ImConfig {
            ngf: 32,
            downsamplings: 3,
            blocks: 6,
            edge_kernel: 7,
            space_to_depth: 1,
            ..Pose2ImConfig::lite(channels)
        },
        // The lite shape before pixel folding and 1x1 edges, for the CPU comparison.
        "lite-unfolded" => Pose2ImConfig {
            blocks: 4,
            edge_kernel: 3,
            space_to_depth: 1,
            ..Pose2ImConfig::lite(channels)
        },
        "paper" => Pose2ImConfig::paper(channels),
        _ => Pose2ImConfig::lite(channels),
    }
}

fn bench_one(c: &mut Criterion, preset: &str, size: i64, batch: i64, device: Device) {
    let mut vs = VarStore::new(device);
    let model = Pose2Im::new(&vs.root(), config(preset));
    let cuda = device.is_cuda();
    // bf16 weights and input on CUDA, as the stream's generate stage runs them.
    let kind = if cuda { Kind::BFloat16 } else { Kind::Float };
    vs.set_kind(kind);
    let x = Tensor::rand([batch, NUM_PARTS as i64, size, size], (kind, device));
    let run = || {
        tch::no_grad(|| {
            let y = model.forward(&x);
            sync(device);
            y
        })
    };
    for _ in 0..3 {
        drop(run());
    }
    let name = if cuda {
        format!("generator/{preset} {size}x{size} batch {batch} cuda bf16")
    } else {
        let threads = tch::get_num_threads();
        format!("generator/{preset} {size}x{size} batch {batch} cpu f32 {threads} threads")
    };
    c.bench_function(&name, |b| b.iter(run));
    if cuda && batch == 1 {
        bench_graph(c, &name, &model, &x, device);
    }
}

/// The same forward replayed as a CUDA graph (what the stream runs on CUDA), including the
/// copy of the input into the graph's own.
fn bench_graph(c: &mut Criterion, name: &str, model: &Pose2Im, x: &Tensor, device: Device) {
    let captured = tch::no_grad(|| CapturedForward::capture(&[x], |x| model.forward(&x[0])));
    match captured {
        Ok(graph) => {
            c.bench_function(&format!("{name} graph"), |b| {
                b.iter(|| {
                    let y = graph.run(&[x]).unwrap();
                    sync(device);
                    y
                })
            });
        }
        Err(e) => eprintln!("{name}: no graph: {e}"),
    }
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// What the generate stage does on the host before the forward, on CUDA as on the CPU: a
/// skeleton encoded into each architecture's condition maps at 256 (one core).
fn encode(c: &mut Criterion) {
    let skeleton = SyntheticPerson::random(1).skeleton(1.3, 256, 256);
    for (name, input) in [
        ("part maps (Pose2Im)", InputFormat::PartMaps18),
        ("joint maps (Posewarp)", InputFormat::JointMaps24),
    ] {
        let mut encoder = PoseEncoder::new(input, 256);
        c.bench_function(&format!("encode/{name} 256x256"), |b| {
            b.iter(|| encoder.encode(&skeleton))
        });
    }
    // What a Posewarp stream on CUDA computes on the host instead: the maps' Gaussians.
    c.bench_function("encode/joint gaussians (Posewarp on a GPU)", |b| {
        b.iter(|| joint_gaussians(&skeleton, 256))
    });
}

fn generator(c: &mut Criterion) {
    // Before any other libtorch call: libtorch caches "no CUDA" on its first query.
    let gpu = device::select(DeviceChoice::Cuda);
    tch::set_num_threads(1);
    encode(c);
    for threads in [1, 2] {
        tch::set_num_threads(threads);
        for preset in ["lite", "lite-unfolded"] {
            bench_one(c, preset, 256, 1, Device::Cpu);
        }
    }
    if let Err(e) = &gpu {
        eprintln!("no CUDA benchmarks: {e}");
    }
    if let Ok(gpu @ Device::Cuda(_)) = gpu {
        for preset in ["lite", "ref-small", "paper"] {
            for size in [256, 512] {
                bench_one(c, preset, size, 1, gpu);
            }
            bench_one(c, preset, 512, 16, gpu);
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = generator
}
criterion_main!(benches);
