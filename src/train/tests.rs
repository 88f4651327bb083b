//! Personalization on the CPU, honestly: a lite generator trained for a few steps on K frames
//! of a synthetic person renders held-out frames of that person better than before.

use std::ops::ControlFlow;

use tch::{Device, Tensor};

use super::*;
use crate::model::{ArchConfig, Condition, Examples, Preset};
use crate::synth::SyntheticPerson;

const SIZE: u32 = 64;

fn lite() -> ArchConfig {
    ArchConfig::pose2im(Preset::Lite)
}

/// The person at times `ts`, as examples for the lite generator.
fn frames(person: &SyntheticPerson, ts: &[f32]) -> Examples {
    let rendered: Vec<_> = ts.iter().map(|&t| person.render(t, SIZE, SIZE)).collect();
    Examples::new(lite().input(), &rendered).unwrap()
}

/// Mean L1 and PSNR of the models' generator on `test`.
fn score(models: &Models, test: &Examples) -> (f64, f64) {
    let condition = Condition::pose(test.poses.shallow_clone());
    tch::no_grad(|| data::l1_psnr(&models.generator.forward(&condition), &test.frames))
}

fn random_lite(seed: u64) -> Models {
    Init::Random(lite()).build(Device::Cpu, seed).unwrap()
}

fn run(models: &Models, shots: &Examples, config: &PersonalizeConfig) -> TrainLog {
    let task = Task {
        examples: shots,
        seed: config.seed,
    };
    let rates = models.rates.clone();
    personalize(models.trainee(), &[task], config, &rates, &mut |_, _| {
        ControlFlow::Continue(())
    })
    .unwrap()
}

/// Held-out (L1, PSNR) before and after a personalization, and its training L1.
fn report(before: (f64, f64), after: (f64, f64), log: &TrainLog) {
    println!(
        "held-out frames: L1 {:.4} -> {:.4}, PSNR {:.2} -> {:.2} dB; training L1 {:.4} -> {:.4}",
        before.0,
        after.0,
        before.1,
        after.1,
        log.l1[0],
        log.l1[log.l1.len() - 1]
    );
}

#[test]
fn learning_rate_is_constant_then_decays_to_zero() {
    let c = PersonalizeConfig::default();
    assert_eq!(
        (c.shots, c.steps, c.batch, c.lr, c.beta1),
        (5, 20, 8, 6e-4, 0.5)
    );
    assert_eq!(c.lr_at(0), 6e-4);
    assert_eq!(c.lr_at(9), 6e-4);
    assert_eq!(c.lr_at(10), 6e-4);
    assert!((c.lr_at(15) - 3e-4).abs() < 1e-12);
    assert!((c.lr_at(19) - 6e-5).abs() < 1e-12);
    assert_eq!(c.lr_at(20), 0.0);
    assert_eq!(c.with_steps(50).constant_steps, 25);
}

#[test]
fn a_reshaped_init_keeps_its_weights_and_starts_new_layers_fresh() {
    use crate::model::checkpoint::{self, CheckpointMeta};
    use crate::model::PosewarpConfig;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("init.safetensors");
    // The fast shape before it had the refinement, grown into it.
    let grown = ArchConfig::posewarp(Preset::LiteFast);
    let ArchConfig::Posewarp(config) = grown else {
        unreachable!()
    };
    let small = ArchConfig::Posewarp(PosewarpConfig {
        refine_channels: 0,
        ..config
    });
    let old = Init::Random(small).build(Device::Cpu, 4).unwrap();
    checkpoint::save(&path, &old.gen_vs, &CheckpointMeta::new(small, 64)).unwrap();
    let new = Init::Reshaped(Stored::File(path.clone()), grown)
        .build(Device::Cpu, 5)
        .unwrap();
    assert_eq!(new.generator.arch(), grown);
    let (before, after) = (old.gen_vs.variables(), new.gen_vs.variables());
    for (name, value) in &before {
        assert!(value.equal(&after[name]), "{name} changed");
    }
    // The new layers: a hidden convolution drawn fresh, a head at zero.
    let fresh: Vec<_> = after.keys().filter(|n| !before.contains_key(*n)).collect();
    assert_eq!(fresh.len(), 4, "{fresh:?}");
    assert!(
        after["refine.hidden.weight"]
            .abs()
            .sum(tch::Kind::Float)
            .double_value(&[])
            > 0.0
    );
    assert_eq!(
        after["refine.head.weight"].abs().max().double_value(&[]),
        0.0
    );
    // A shape the file's weights do not fit is refused, naming a variable.
    let err = Init::Reshaped(Stored::File(path), lite())
        .build(Device::Cpu, 5)
        .err()
        .expect("posewarp weights do not fit pose2im")
        .to_string();
    assert!(err.contains("no place"), "{err}");
}

#[test]
fn posewarp_takes_no_steps_on_one_frame_and_pose2im_does() {
    let config = PersonalizeConfig::default().with_steps(20);
    let posewarp = ArchConfig::posewarp(Preset::Lite);
    assert_eq!(config.for_shots(&posewarp, 1).steps, 0);
    assert_eq!(config.for_shots(&posewarp, 2), config);
    assert_eq!(config.for_shots(&lite(), 1), config);
}

#[test]
fn personalization_improves_held_out_frames_of_the_same_person() {
    tch::set_num_threads(2);
    let person = SyntheticPerson::random(11);
    // K = 5 frames evenly spaced over the first 2 s; 8 held-out frames from later on.
    let shots = frames(&person, &[0.0, 0.5, 1.0, 1.5, 2.0]);
    let test = frames(&person, &[3.0, 3.1, 3.3, 3.6, 4.0, 4.2, 4.5, 4.9]);
    let models = random_lite(1);
    let before = score(&models, &test);
    let config = PersonalizeConfig {
        steps: 60,
        constant_steps: 30,
        lr: 2e-3,
        adversarial: true,
        ..PersonalizeConfig::default()
    };
    let log = run(&models, &shots, &config);
    let after = score(&models, &test);
    report(before, after, &log);
    assert_eq!(log.l1.len(), 60);
    assert!(log
        .generator
        .iter()
        .chain(&log.discriminator)
        .all(|v| v.is_finite()));
    assert!(
        after.0 < 0.7 * before.0,
        "held-out L1 {:.4} -> {:.4}",
        before.0,
        after.0
    );
    assert!(
        after.1 > before.1 + 3.0,
        "held-out PSNR {:.2} -> {:.2}",
        before.1,
        after.1
    );
}

#[test]
fn l1_only_training_fits_the_shots_and_leaves_the_discriminator_alone() {
    let person = SyntheticPerson::random(12);
    let shots = frames(&person, &[0.0, 0.7, 1.4]);
    let models = random_lite(2);
    let disc_before: Vec<Tensor> = models
        .disc_vs
        .trainable_variables()
        .iter()
        .map(|t| t.copy())
        .collect();
    let config = PersonalizeConfig {
        steps: 30,
        batch: 3,
        adversarial: false,
        ..PersonalizeConfig::default()
    };
    let log = run(&models, &shots, &config);
    let (first, last) = (log.l1[0], *log.l1.last().unwrap());
    println!("L1-only: L1 {first:.3} -> {last:.3} on the shots");
    assert!(last < 0.8 * first, "{first} -> {last}");
    assert_eq!(log.last_l1.len(), 1);
    assert!(
        (log.last_l1[0] - last).abs() < 1e-4 * last,
        "{:?}",
        log.last_l1
    );
    for (before, after) in disc_before.iter().zip(models.disc_vs.trainable_variables()) {
        assert!(before.equal(&after), "the discriminator moved");
    }
}

#[test]
fn a_stop_ends_the_loop_after_the_step_in_hand() {
    let person = SyntheticPerson::random(13);
    let shots = frames(&person, &[0.0, 0.7]);
    let models = random_lite(3);
    let config = PersonalizeConfig {
        steps: 50,
        batch: 2,
        ..PersonalizeConfig::default()
    };
    let task = Task {
        examples: &shots,
        seed: 0,
    };
    let mut seen = Vec::new();
    let log = personalize(
        models.trainee(),
        &[task],
        &config,
        &models.rates,
        &mut |n, _| {
            seen.push(n);
            if n == 7 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(seen, (1..=7).collect::<Vec<_>>());
    assert_eq!(log.l1.len(), 7);
}

#[test]
fn frames_the_architecture_cannot_take_are_refused_before_libtorch() {
    // 40 px is no multiple of lite's 16: libtorch would fail comparing 48 px outputs with
    // 40 px frames, deep inside the loss.
    let person = SyntheticPerson::random(14);
    let rendered: Vec<_> = [0.0, 0.5]
        .iter()
        .map(|&t| person.render(t, 40, 40))
        .collect();
    let shots = Examples::new(lite().input(), &rendered).unwrap();
    let models = random_lite(4);
    let task = Task {
        examples: &shots,
        seed: 0,
    };
    let config = PersonalizeConfig::default();
    let err = personalize(
        models.trainee(),
        &[task],
        &config,
        &models.rates,
        &mut |_, _| ControlFlow::Continue(()),
    )
    .unwrap_err();
    println!("{err}");
    assert!(matches!(err, TrainError::Setup(_)), "{err}");
    assert!(err.to_string().contains("multiples of 16"), "{err}");
}

#[test]
fn posewarp_personalizes_on_pairs_of_the_shots() {
    tch::set_num_threads(2);
    let arch = ArchConfig::posewarp(Preset::Lite);
    let person = SyntheticPerson::random(12);
    let rendered = |ts: &[f32]| -> Examples {
        let frames: Vec<_> = ts.iter().map(|&t| person.render(t, SIZE, SIZE)).collect();
        Examples::new(arch.input(), &frames).unwrap()
    };
    let shots = rendered(&[0.0, 0.5, 1.0, 1.5, 2.0]);
    let test = rendered(&[3.0, 3.3, 3.6, 4.0, 4.5, 4.9]);
    let models = Init::Random(arch).build(Device::Cpu, 2).unwrap();
    let score =
        |m: &Models| data::l1_psnr(&m.generator.render(&shots, &test).unwrap(), &test.frames);
    let before = score(&models);
    let config = PersonalizeConfig {
        steps: 40,
        constant_steps: 20,
        lr: 2e-3,
        batch: 4,
        ..PersonalizeConfig::default()
    };
    let log = run(&models, &shots, &config);
    let after = score(&models);
    report(before, after, &log);
    assert!(log.l1.iter().all(|v| v.is_finite()));
    // Trained on pairs of the shots, it renders poses it never saw better than it started.
    assert!(
        after.0 < before.0,
        "held-out L1 {:.4} -> {:.4}",
        before.0,
        after.0
    );
}

#[test]
fn posewarp_personalizes_with_the_gan_terms_unless_told_and_pose2im_without() {
    let (posewarp, pose2im) = (ArchConfig::posewarp(Preset::Lite), lite());
    assert!(Loss::ByArch.adversarial(&posewarp));
    assert!(!Loss::ByArch.adversarial(&pose2im));
    assert!(!Loss::L1.adversarial(&posewarp));
    assert!(Loss::Gan.adversarial(&pose2im));
}
