//! Seconds per personalization (K 5, T 20, batch 8: the paper's budget) per preset, size
//! and device, with random shots (timing only). Prints a table; no criterion, since one run
//! takes seconds. `cargo bench --bench personalize`; on the GPU machine build with
//! `--no-default-features` and run with libtorch on LD_LIBRARY_PATH.

use std::ops::ControlFlow;
use std::time::Instant;

use metapix::base::skeleton::Skeleton;
use metapix::model::device::{self, DeviceChoice};
use metapix::model::rates::LayerRates;
use metapix::model::{ArchConfig, Examples, Generator, PatchGan, Preset};
use metapix::train::{personalize, PersonalizeConfig, Task, Trainee};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn time_one(preset: &str, size: i64, device: Device, bf16: bool) -> Vec<f64> {
    let arch = ArchConfig::pose2im(match preset {
        "paper" => Preset::Paper,
        _ => Preset::Lite,
    });
    let c = arch.input().channels();
    // The paper's losses: the figures in docs/BENCHMARKS.md time the GAN step.
    let config = PersonalizeConfig {
        adversarial: true,
        ..PersonalizeConfig::default()
    };
    let k = config.shots as i64;
    let shots = Examples {
        frames: Tensor::rand([k, 3, size, size], (Kind::Float, device)) * 2.0 - 1.0,
        poses: Tensor::rand([k, c, size, size], (Kind::Float, device)),
        skeletons: vec![Skeleton::none(); config.shots],
        people: vec![0; config.shots],
        plates: None,
        masks: None,
        parts: None,
    };
    (0..3)
        .map(|_| {
            let gen_vs = VarStore::new(device);
            let generator = Generator::new(&gen_vs.root(), &arch);
            let disc_vs = VarStore::new(device);
            let disc = PatchGan::new(&disc_vs.root(), arch.discriminator());
            let sync = || {
                if let Device::Cuda(i) = device {
                    tch::Cuda::synchronize(i as i64);
                }
            };
            sync();
            let start = Instant::now();
            let uniform = LayerRates::default();
            let trainee = Trainee {
                generator: &generator,
                gen_vs: &gen_vs,
                discriminator: Some((&disc, &disc_vs)),
            };
            let task = Task {
                examples: &shots,
                seed: 0,
            };
            let run = || {
                personalize(trainee, &[task], &config, &uniform, &mut |_, _| {
                    ControlFlow::Continue(())
                })
                .unwrap()
            };
            let log = if bf16 {
                tch::autocast(true, run)
            } else {
                run()
            };
            sync();
            assert!(log.l1.iter().all(|v| v.is_finite()));
            start.elapsed().as_secs_f64()
        })
        .collect()
}

fn main() {
    // Before any other libtorch call: libtorch caches "no CUDA" on its first query.
    let gpu = device::select(DeviceChoice::Cuda).ok();
    println!("| preset | size | device | precision | seconds per personalization (3 runs) |");
    println!("|---|---|---|---|---|");
    let row = |preset: &str, size, device: Device, bf16| {
        let t = time_one(preset, size, device, bf16);
        let runs: Vec<String> = t.iter().map(|s| format!("{s:.2}")).collect();
        let dev = if device.is_cuda() { "cuda" } else { "cpu" };
        let prec = if bf16 { "bf16 autocast" } else { "f32" };
        println!(
            "| {preset} | {size} | {dev} | {prec} | {} |",
            runs.join(" / ")
        );
    };
    tch::set_num_threads(2);
    row("lite", 128, Device::Cpu, false);
    if let Some(gpu) = gpu {
        for bf16 in [false, true] {
            row("lite", 256, gpu, bf16);
            row("paper", 256, gpu, bf16);
            row("paper", 512, gpu, bf16);
        }
    }
}
