//! The generators' shapes and their checkpoints, on the CPU.

use std::collections::BTreeMap;
use std::path::Path;

use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

use super::checkpoint::{self, CheckpointError, CheckpointMeta};
use super::pose2im::{Pose2Im, Pose2ImConfig};
use super::{ArchConfig, Condition, Generator, InputFormat, PatchGan, PatchGanConfig, Preset};
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
}

#[test]
fn a_grouped_generator_is_its_models_side_by_side() {
    // Reptile's meta-batch runs G people through one grouped generator: each group must
    // compute exactly what its model alone computes, for the folded lite shape and the
    // unfolded one with 7x7 edges and reflection padding.
    let mut small = Pose2ImConfig::paper(CHANNELS);
    (small.ngf, small.downsamplings, small.blocks) = (4, 2, 1);
    for config in [Pose2ImConfig::lite(CHANNELS), small] {
        let arch = ArchConfig::Pose2Im(config);
        let models: Vec<(VarStore, Generator)> = (0..3)
            .map(|seed| {
                tch::manual_seed(seed);
                let vs = VarStore::new(Device::Cpu);
                let model = Generator::new(&vs.root(), &arch);
                (vs, model)
            })
            .collect();
        let grouped_vs = VarStore::new(Device::Cpu);
        let grouped = Generator::grouped(&grouped_vs.root(), &arch, 3).expect("pose2im groups");
        assert_eq!(grouped.groups(), 3);
        tch::no_grad(|| {
            for (name, t) in grouped_vs.variables() {
                let parts: Vec<Tensor> = models
                    .iter()
                    .map(|(vs, _)| vs.variables()[&name].copy())
                    .collect();
                super::split_groups(&t, 3).copy_(&Tensor::stack(&parts, 0));
            }
        });
        let inputs: Vec<Condition> = (0..3)
            .map(|_| {
                Condition::pose(Tensor::rand(
                    [2, CHANNELS, 32, 32],
                    (Kind::Float, Device::Cpu),
                ))
            })
            .collect();
        let together = tch::no_grad(|| grouped.forward(&Condition::side_by_side(&inputs)));
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
    let _model = tch::no_grad(|| Generator::new(&vs.root(), &ArchConfig::pose2im(Preset::Paper)));
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
fn sizes_are_checked_against_the_architecture() {
    let lite = ArchConfig::pose2im(Preset::Lite);
    assert_eq!(lite.size_multiple(), 16);
    assert_eq!(lite.check_size(256), Ok(256));
    for bad in [0, 100, 8, 5000] {
        let err = lite.check_size(bad).unwrap_err();
        println!("{err}");
        assert!(err.to_string().contains("multiples of 16"), "{err}");
    }
    assert!(lite
        .check_size(100)
        .unwrap_err()
        .to_string()
        .contains("say 96 or 112"));
    // Every preset divides the size prepare and synth insist on.
    for preset in [Preset::Lite, Preset::Paper] {
        assert_eq!(
            super::SIZE_MULTIPLE % ArchConfig::pose2im(preset).size_multiple(),
            0
        );
    }
}

#[test]
fn checkpoint_round_trips_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("me.safetensors");
    let (vs, model) = lite();
    let mut meta = CheckpointMeta::new(ArchConfig::Pose2Im(model.config), 256);
    meta.training = serde_json::json!({"init": "random", "shots": 5, "steps": 20});
    checkpoint::save(&path, &vs, &meta).unwrap();
    let loaded = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(loaded.meta, meta);
    let x = Condition::pose(Tensor::rand(
        [1, CHANNELS, 32, 32],
        (Kind::Float, Device::Cpu),
    ));
    let (a, b) = tch::no_grad(|| (model.forward(&x.pose), loaded.generator.forward(&x)));
    assert_eq!(
        f64::try_from((a - b).abs().max()).unwrap(),
        0.0,
        "bit-exact reload"
    );

    let bytes = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let err = checkpoint::load(&bad, Device::Cpu).err().unwrap();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    assert!(matches!(
        checkpoint::load(&bad, Device::Cpu),
        Err(CheckpointError::Corrupt { .. })
    ));

    // Same weights, metadata claiming another architecture size.
    let mut other = meta.clone();
    let ArchConfig::Pose2Im(c) = &mut other.arch else {
        unreachable!("the checkpoint is a pose2im one")
    };
    c.blocks += 1;
    checkpoint::save(&bad, &vs, &other).unwrap();
    let err = checkpoint::load(&bad, Device::Cpu).err().unwrap();
    assert!(matches!(err, CheckpointError::Mismatch { .. }), "{err}");
    // Each of these is a Format error naming the field, in one line, never a panic.
    let refused = |edit: &dyn Fn(&mut CheckpointMeta), says: &str| {
        let mut other = meta.clone();
        edit(&mut other);
        checkpoint::save(&bad, &vs, &other).unwrap();
        let err = checkpoint::load(&bad, Device::Cpu).err().unwrap();
        println!("{err}");
        assert!(matches!(err, CheckpointError::Format { .. }), "{err}");
        assert!(err.to_string().contains(says), "{err}");
        assert!(!err.to_string().contains('\n'));
    };
    refused(
        &|m| m.pose_map_format = "openpose18-v0".into(),
        "pose maps openpose18-v0",
    );
    refused(&|m| m.resolution = 0, "resolution 0 px");
    refused(&|m| m.resolution = 100, "resolution 100 px");
    refused(
        &|m| m.resolution = 1 << 20,
        "multiples of 16, from 16 to 4096",
    );
    refused(
        &|m| m.format = "metapix-checkpoint-v9".into(),
        "format metapix-checkpoint-v9",
    );
}

#[test]
fn an_unknown_architecture_is_named() {
    // A checkpoint of an architecture this build lacks (say, from a newer one) is refused
    // with its name, not a serde message.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.safetensors");
    let meta = r#"{"format":"metapix-checkpoint-v1","architecture":"hologram","generator":{},
                   "resolution":256,"pose_map_format":"x","normalization":null,"training":null}"#;
    let info = std::collections::HashMap::from([("metapix".to_string(), meta.to_string())]);
    let bytes = safetensors::serialize(
        Vec::<(&str, safetensors::tensor::TensorView)>::new(),
        Some(info),
    )
    .unwrap();
    std::fs::write(&path, bytes).unwrap();
    let err = checkpoint::load(&path, Device::Cpu).err().unwrap();
    assert!(
        err.to_string()
            .contains("architecture hologram (this build has pose2im posewarp)"),
        "{err}"
    );
}

#[test]
fn a_checkpoint_carries_its_discriminator_beside_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("init.safetensors");
    let (vs, model) = lite();
    let disc_vs = VarStore::new(Device::Cpu);
    let disc = PatchGan::new(&disc_vs.root(), PatchGanConfig::lite(CHANNELS + 3));
    let mut meta = CheckpointMeta::new(ArchConfig::Pose2Im(model.config), 64);
    meta.discriminator = Some(disc.config);
    checkpoint::save_with_discriminator(&path, &vs, Some(&disc_vs), &meta).unwrap();
    // The generator loads as from any checkpoint; the discriminator comes back bit-exact.
    let loaded = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(loaded.meta, meta);
    let (loaded_vs, _) = loaded.discriminator.expect("a discriminator");
    let original = disc_vs.variables();
    let reloaded = loaded_vs.variables();
    assert_eq!(original.len(), reloaded.len());
    for (name, t) in original {
        assert!(t.equal(&reloaded[&name]), "{name}");
    }
    // A generator-only checkpoint has none.
    let plain = dir.path().join("plain.safetensors");
    let meta = CheckpointMeta::new(ArchConfig::Pose2Im(model.config), 64);
    checkpoint::save(&plain, &vs, &meta).unwrap();
    assert!(checkpoint::load(&plain, Device::Cpu)
        .unwrap()
        .discriminator
        .is_none());
}

/// The fixture input: a fixed pattern, (1, 18, 16, 16) in 0..1.
fn fixture_input() -> Tensor {
    let values: Vec<f32> = (0..18 * 16 * 16)
        .map(|i| {
            let (c, y, x) = (i / 256, (i / 16) % 16, i % 16);
            ((c * 7 + y * 3 + x) % 11) as f32 / 10.0
        })
        .collect();
    Tensor::from_slice(&values).view([1, 18, 16, 16])
}

#[test]
fn v1_checkpoints_still_load() {
    // tests/fixtures/v1-pose2im-tiny.safetensors was written by the v1 code at bfe8f03,
    // before the architecture seam: a tiny Pose2Im with a discriminator, normalization
    // statistics and learned rates; its .output.json is that code's output for
    // fixture_input(). The file must load into the same model, metadata and function.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let loaded =
        checkpoint::load(&fixtures.join("v1-pose2im-tiny.safetensors"), Device::Cpu).unwrap();
    let meta = &loaded.meta;
    let expected = Pose2ImConfig {
        in_channels: 18,
        out_channels: 3,
        ngf: 4,
        downsamplings: 1,
        blocks: 1,
        edge_kernel: 3,
        space_to_depth: 1,
    };
    assert_eq!(meta.arch, ArchConfig::Pose2Im(expected));
    assert_eq!(meta.resolution, 32);
    assert_eq!(meta.normalization.unwrap().ankle_close, 27.25);
    assert_eq!(meta.inner_lr.get("head.weight"), 20.0);
    assert_eq!(meta.inner_lr.get("down.0.weight"), 0.5);
    assert_eq!(meta.inner_lr.get("stem.weight"), 1.0);
    assert_eq!(meta.training["shots"], 5);
    let (_, disc) = loaded.discriminator.as_ref().expect("its discriminator");
    assert_eq!(
        disc.config,
        PatchGanConfig {
            in_channels: 21,
            ndf: 4,
            layers: 2,
            scales: 2
        }
    );
    let out = tch::no_grad(|| loaded.generator.forward(&Condition::pose(fixture_input())));
    let text = std::fs::read_to_string(fixtures.join("v1-pose2im-tiny.output.json")).unwrap();
    let v1: Vec<f32> = serde_json::from_str(&text).unwrap();
    let v1 = Tensor::from_slice(&v1).view([1, 3, 16, 16]);
    // Same weights and input on another CPU: rounding only (see the grouped test's bound).
    let gap = relative_gap(&out, &v1);
    assert!(
        gap < 1e-3,
        "the v1 fixture's output moved by {gap:.2e} of its norm"
    );
    // Saved again, it reads back the same.
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again.safetensors");
    let disc_vs = &loaded.discriminator.as_ref().unwrap().0;
    checkpoint::save_with_discriminator(&again, &loaded.gen_vs, Some(disc_vs), meta).unwrap();
    assert_eq!(&checkpoint::load(&again, Device::Cpu).unwrap().meta, meta);
}

#[test]
fn the_shipped_checkpoints_load() {
    let lite = ArchConfig::pose2im(Preset::Lite);
    for builtin in [super::DEFAULT_AVATAR, super::METAPIX_INIT] {
        let loaded = builtin.load(Device::Cpu).unwrap();
        assert_eq!(loaded.meta.arch, lite, "{}", builtin.name);
        assert_eq!(loaded.meta.resolution, 256);
        assert_eq!(loaded.generator.arch(), lite);
        let y = tch::no_grad(|| {
            let x = Tensor::rand([1, CHANNELS, 64, 64], (Kind::Float, Device::Cpu));
            loaded.generator.forward(&Condition::pose(x))
        });
        assert_eq!(y.size(), [1, 3, 64, 64]);
        assert!(format!("{builtin:?}").len() < 100, "Debug prints the bytes");
    }
    // The avatar knows its person's proportions; the init learned its layer rates.
    let avatar = super::DEFAULT_AVATAR.load(Device::Cpu).unwrap();
    assert!(avatar.meta.normalization.is_some() && avatar.discriminator.is_none());
    let init = super::METAPIX_INIT.load(Device::Cpu).unwrap();
    assert!(!init.meta.inner_lr.is_uniform() && init.discriminator.is_some());
    let rates: BTreeMap<&String, &f64> = init.meta.inner_lr.iter().collect();
    assert!(rates.len() > 10, "{rates:?}");
}

#[test]
fn the_shipped_posewarp_inits_load_in_their_shapes() {
    use super::{PosewarpConfig, POSEWARP_FAST_INIT, POSEWARP_INIT};
    let channels = InputFormat::JointMaps24.channels();
    for (builtin, config) in [
        (POSEWARP_INIT, PosewarpConfig::lite(channels)),
        (POSEWARP_FAST_INIT, PosewarpConfig::lite_fast(channels)),
    ] {
        let loaded = builtin.load(Device::Cpu).unwrap();
        assert_eq!(
            loaded.meta.arch,
            ArchConfig::Posewarp(config),
            "{}",
            builtin.name
        );
        assert_eq!(loaded.meta.resolution, 256);
        assert!(loaded.sources.is_none(), "an init carries no one's frames");
    }
}
