//! Posewarp's costs per preset and size: a driving frame (the ten limb grids from the
//! joints, then the warps, the foreground U-Net and the blend: what the stream runs per
//! frame) and a source frame prepared (the mask and background U-Nets: once per source).
//! The lite preset on the CPU; lite and the paper's on CUDA in bf16 where a GPU is present
//! (synchronized inside the timed region). `scripts/bench-posewarp-pytorch.py` times the
//! same architecture in PyTorch.
//!
//! `cargo bench --bench posewarp`; on the GPU machine build with `--no-default-features`
//! and run the bench binary with libtorch on LD_LIBRARY_PATH.

use criterion::{criterion_group, criterion_main, Criterion};
use metapix::model::cuda_graph::CapturedForward;
use metapix::model::device::{self, DeviceChoice};
use metapix::model::io::PoseEncoder;
use metapix::model::posewarp::{limb_grids, limb_thetas};
use metapix::model::{InputFormat, Posewarp, PosewarpConfig};
use metapix::render::joints::joints;
use metapix::synth::SyntheticPerson;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

const POSE_CHANNELS: i64 = 24;

/// Our presets.
fn config(preset: &str) -> PosewarpConfig {
    match preset {
        "paper" => PosewarpConfig::paper(POSE_CHANNELS),
        "lite-fast" => PosewarpConfig::lite_fast(POSE_CHANNELS),
        _ => PosewarpConfig::lite(POSE_CHANNELS),
    }
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn bench_one(c: &mut Criterion, preset: &str, size: u32, device: Device, kind: Kind) {
    let mut vs = VarStore::new(device);
    let model = Posewarp::new(&vs.root(), config(preset));
    vs.set_kind(kind);
    // A real pair of poses, so that every limb moves.
    let person = SyntheticPerson::random(1);
    let (source, driving) = (
        person.render(0.0, size, size).1,
        person.render(1.3, size, size).1,
    );
    let (from, to) = (joints(&source), joints(&driving));
    let mut encoder = PoseEncoder::new(InputFormat::JointMaps24, size);
    let encode = |encoder: &mut PoseEncoder, s| {
        encoder
            .encode(s)
            .unsqueeze(0)
            .to_device(device)
            .to_kind(kind)
    };
    let (source_pose, pose) = (
        encode(&mut encoder, &source),
        encode(&mut encoder, &driving),
    );
    let s = i64::from(size);
    let image = Tensor::rand([1, 3, s, s], (kind, device)) * 2.0 - 1.0;
    let plate = Tensor::rand([1, 3, s, s], (kind, device)) * 2.0 - 1.0;
    let prepare = || {
        tch::no_grad(|| {
            let p = model.prepare(&image, &source_pose, &plate, None);
            sync(device);
            p
        })
    };
    let prepared = prepare();
    let frame = || {
        tch::no_grad(|| {
            let grids = limb_grids(&from, &to, size, device).unsqueeze(0);
            let y = model.render(&prepared, &grids, &pose);
            sync(device);
            y
        })
    };
    for _ in 0..3 {
        drop(frame());
    }
    let graph = device.is_cuda().then(|| {
        // As the stream's graph: the limbs' maps, the layers, the fill and the pose in.
        let theta = Tensor::from_slice(&limb_thetas(&from, &to, size).concat()).to_device(device);
        let inputs = [&theta, prepared.layers(), prepared.fill(), &pose];
        tch::no_grad(|| {
            CapturedForward::capture(&inputs, |x| {
                model.render_by_maps(&x[0], &x[1], &x[2], &x[3])
            })
        })
        .map(|g| (g, theta))
    });
    let precision = if kind == Kind::BFloat16 {
        "bf16"
    } else {
        "f32"
    };
    let on = if device.is_cuda() {
        format!("cuda {precision}")
    } else {
        format!("cpu {precision} {} threads", tch::get_num_threads())
    };
    c.bench_function(
        &format!("posewarp/{preset} {size}x{size} frame {on}"),
        |b| b.iter(frame),
    );
    c.bench_function(
        &format!("posewarp/{preset} {size}x{size} prepare {on}"),
        |b| b.iter(prepare),
    );
    match graph {
        Some(Ok((graph, mut theta))) => {
            c.bench_function(
                &format!("posewarp/{preset} {size}x{size} frame {on} graph"),
                |b| {
                    b.iter(|| {
                        // The maps from the host each frame, as in the eager frame.
                        let maps = limb_thetas(&from, &to, size).concat();
                        theta.copy_(&Tensor::from_slice(&maps));
                        let inputs = [&theta, prepared.layers(), prepared.fill(), &pose];
                        let y = graph.run(&inputs).unwrap();
                        sync(device);
                        y
                    })
                },
            );
        }
        Some(Err(e)) => eprintln!("posewarp/{preset} {size}: no graph: {e}"),
        None => {}
    }
}

fn posewarp(c: &mut Criterion) {
    // Before any other libtorch call: libtorch caches "no CUDA" on its first query.
    let gpu = device::select(DeviceChoice::Cuda);
    for threads in [1, 2] {
        tch::set_num_threads(threads);
        for preset in ["lite", "lite-fast"] {
            for kind in [Kind::Float, Kind::BFloat16] {
                bench_one(c, preset, 256, Device::Cpu, kind);
            }
        }
    }
    match gpu {
        Ok(gpu @ Device::Cuda(_)) => {
            for (preset, size) in [
                ("lite", 256),
                ("lite-fast", 256),
                ("lite-fast", 512),
                ("paper", 256),
                ("paper", 512),
            ] {
                bench_one(c, preset, size, gpu, Kind::BFloat16);
            }
        }
        Ok(_) => {}
        Err(e) => eprintln!("no CUDA benchmarks: {e}"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = posewarp
}
criterion_main!(benches);
