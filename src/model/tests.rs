//! The generator's shape and its checkpoints, on the CPU.

use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

use super::checkpoint::{self, CheckpointError, CheckpointMeta};
use super::pose2im::{Pose2Im, Pose2ImConfig};
use crate::render::NUM_PARTS;

const CHANNELS: i64 = NUM_PARTS as i64;

fn lite() -> (VarStore, Pose2Im) {
    tch::manual_seed(7);
    let vs = VarStore::new(Device::Cpu);
    let model = Pose2Im::new(&vs.root(), Pose2ImConfig::lite(CHANNELS));
    (vs, model)
}

/// ||a - b|| / ||b||: a difference measured against the size of what is compared, so it
/// means the same whatever the values' magnitude.
fn relative_gap(a: &Tensor, b: &Tensor) -> f64 {
    let diff = (a - b).norm().double_value(&[]);
    diff / b.norm().double_value(&[]).max(f64::MIN_POSITIVE)
}

fn param_count(vs: &VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

#[test]
fn output_is_an_image_of_the_input_size() {
    let (_vs, model) = lite();
    let x = Tensor::rand([2, CHANNELS, 64, 96], (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| model.forward(&x));
    assert_eq!(y.size(), [2, 3, 64, 96]);
    let (min, max) = (y.min().double_value(&[]), y.max().double_value(&[]));
    assert!((-1.0..=1.0).contains(&min) && (-1.0..=1.0).contains(&max) && max > min);
}

#[test]
fn a_grouped_generator_is_its_models_side_by_side() {
    // Reptile's meta-batch runs G people through one grouped generator: each group must
    // compute exactly what its model alone computes, for the folded lite shape and the
    // unfolded one with 7x7 edges and reflection padding.
    let mut small = Pose2ImConfig::paper(CHANNELS);
    (small.ngf, small.downsamplings, small.blocks) = (4, 2, 1);
    for config in [Pose2ImConfig::lite(CHANNELS), small] {
        let models: Vec<(VarStore, Pose2Im)> = (0..3)
            .map(|seed| {
                tch::manual_seed(seed);
                let vs = VarStore::new(Device::Cpu);
                let model = Pose2Im::new(&vs.root(), config);
                (vs, model)
            })
            .collect();
        let grouped_vs = VarStore::new(Device::Cpu);
        let grouped = Pose2Im::grouped(&grouped_vs.root(), config, 3);
        tch::no_grad(|| {
            for (name, t) in grouped_vs.variables() {
                let parts: Vec<Tensor> = models
                    .iter()
                    .map(|(vs, _)| vs.variables()[&name].copy())
                    .collect();
                super::split_groups(&t, 3).copy_(&Tensor::stack(&parts, 0));
            }
        });
        let inputs: Vec<Tensor> = (0..3)
            .map(|_| Tensor::rand([2, CHANNELS, 32, 32], (Kind::Float, Device::Cpu)))
            .collect();
        let together = tch::no_grad(|| grouped.forward(&Tensor::cat(&inputs, 1)));
        assert_eq!(together.size(), [2, 9, 32, 32]);
        for (g, ((_, model), x)) in models.iter().zip(&inputs).enumerate() {
            let alone = tch::no_grad(|| model.forward(x));
            let part = together.narrow(1, 3 * g as i64, 3);
            // Grouped and plain convolutions sum in other orders, and oneDNN picks other
            // kernels on other CPUs (AVX-512 and AMX Xeons measured 4.2e-5 absolute where
            // EPYCs give 1e-6). Each output passes about ten f32 layers with instance norm,
            // so rounding stays near 1e-5 of the output's size; a group that computed
            // another model's output, or mixed channels, is off by its whole size (~1).
            // 1e-3 of the output's norm sits between the two with room on both sides.
            let gap = relative_gap(&part, &alone);
            assert!(
                gap < 1e-3,
                "group {g} differs from its model by {gap:.2e} of its norm"
            );
        }
    }
}

#[test]
fn paper_preset_has_pix2pixhds_size() {
    // pix2pixHD's global generator with ngf 64, 4 downsamplings and 9 blocks has about
    // 182 M parameters (docs/environment.md measured the PyTorch one).
    let vs = VarStore::new(Device::Cpu);
    let _model = tch::no_grad(|| Pose2Im::new(&vs.root(), Pose2ImConfig::paper(CHANNELS)));
    let n = param_count(&vs);
    println!("paper preset: {n} parameters");
    assert!((181_000_000..183_000_000).contains(&n), "{n}");
    let (lite_vs, _) = lite();
    let n = param_count(&lite_vs);
    println!("lite preset: {n} parameters");
    assert!(n < 2_000_000, "{n}");
}

#[test]
fn parameter_names_are_stable() {
    // Checkpoints are keyed by these names: renaming one breaks every saved model.
    let (vs, _) = lite();
    let mut names: Vec<String> = vs.variables().into_keys().collect();
    names.sort();
    let expected = include_str!("pose2im_lite.keys");
    let expected: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(names, expected);
}

#[test]
fn checkpoint_round_trips_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("me.safetensors");
    let (vs, model) = lite();
    let mut meta = CheckpointMeta::new(model.config, 256);
    meta.training = serde_json::json!({"init": "random", "shots": 5, "steps": 20});
    checkpoint::save(&path, &vs, &meta).unwrap();
    let (_vs2, loaded, meta2) = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(meta2, meta);
    let x = Tensor::rand([1, CHANNELS, 32, 32], (Kind::Float, Device::Cpu));
    let (a, b) = tch::no_grad(|| (model.forward(&x), loaded.forward(&x)));
    assert_eq!(
        f64::try_from((a - b).abs().max()).unwrap(),
        0.0,
        "bit-exact reload"
    );

    let bytes = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let err = checkpoint::load(&bad, Device::Cpu).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    assert!(matches!(
        checkpoint::load(&bad, Device::Cpu),
        Err(CheckpointError::Corrupt { .. })
    ));

    // Same weights, metadata claiming another architecture size.
    let mut other = meta.clone();
    other.generator.blocks += 1;
    checkpoint::save(&bad, &vs, &other).unwrap();
    let err = checkpoint::load(&bad, Device::Cpu).unwrap_err();
    assert!(matches!(err, CheckpointError::Mismatch { .. }), "{err}");
    let mut other = meta;
    other.pose_map_format = "openpose18-v0".into();
    checkpoint::save(&bad, &vs, &other).unwrap();
    let err = checkpoint::load(&bad, Device::Cpu).unwrap_err();
    assert!(matches!(err, CheckpointError::Format { .. }), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn a_checkpoint_carries_its_discriminator_beside_the_generator() {
    use super::discriminator::{PatchGan, PatchGanConfig};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("init.safetensors");
    let (vs, model) = lite();
    let disc_vs = VarStore::new(Device::Cpu);
    let disc = PatchGan::new(&disc_vs.root(), PatchGanConfig::lite(CHANNELS + 3));
    let mut meta = CheckpointMeta::new(model.config, 64);
    meta.discriminator = Some(disc.config);
    checkpoint::save_with_discriminator(&path, &vs, Some(&disc_vs), &meta).unwrap();
    // The generator loads as from any checkpoint; the discriminator comes back bit-exact.
    let (_, _, meta2) = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(meta2, meta);
    let (loaded_vs, _) = checkpoint::load_discriminator(&path, Device::Cpu)
        .unwrap()
        .expect("a discriminator");
    let original = disc_vs.variables();
    let loaded = loaded_vs.variables();
    assert_eq!(original.len(), loaded.len());
    for (name, t) in original {
        assert!(t.equal(&loaded[&name]), "{name}");
    }
    // A generator-only checkpoint has none.
    let plain = dir.path().join("plain.safetensors");
    checkpoint::save(&plain, &vs, &CheckpointMeta::new(model.config, 64)).unwrap();
    assert!(checkpoint::load_discriminator(&plain, Device::Cpu)
        .unwrap()
        .is_none());
}
