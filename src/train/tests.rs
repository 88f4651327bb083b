//! Personalization on the CPU, honestly: a lite generator trained for a few steps on K frames
//! of a synthetic person renders held-out frames of that person better than before.

use tch::nn::{Module, VarStore};
use tch::Device;

use super::*;
use crate::model::discriminator::{PatchGan, PatchGanConfig};
use crate::model::{Pose2Im, Pose2ImConfig};
use crate::render::NUM_PARTS;
use crate::synth::SyntheticPerson;

const SIZE: u32 = 64;

/// Pose maps and images of the person at times `ts`.
fn frames(person: &SyntheticPerson, ts: &[f32]) -> Shots {
    let rendered: Vec<_> = ts.iter().map(|&t| person.render(t, SIZE, SIZE)).collect();
    data::shots(&rendered)
}

/// Mean L1 and PSNR of the generator on `test`.
fn score(generator: &Pose2Im, test: &Shots) -> (f64, f64) {
    tch::no_grad(|| data::l1_psnr(&generator.forward(&test.poses), &test.images))
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
}

#[test]
fn personalization_improves_held_out_frames_of_the_same_person() {
    tch::manual_seed(1);
    tch::set_num_threads(2);
    let person = SyntheticPerson::random(11);
    // K = 5 frames evenly spaced over the first 2 s; 8 held-out frames from later on.
    let shots = frames(&person, &[0.0, 0.5, 1.0, 1.5, 2.0]);
    let test = frames(&person, &[3.0, 3.1, 3.3, 3.6, 4.0, 4.2, 4.5, 4.9]);
    let gen_vs = VarStore::new(Device::Cpu);
    let generator = Pose2Im::new(&gen_vs.root(), Pose2ImConfig::lite(NUM_PARTS as i64));
    let disc_vs = VarStore::new(Device::Cpu);
    let disc = PatchGan::new(&disc_vs.root(), PatchGanConfig::lite(NUM_PARTS as i64 + 3));
    let before = score(&generator, &test);
    let config = PersonalizeConfig {
        steps: 60,
        constant_steps: 30,
        lr: 2e-3,
        adversarial: true,
        ..PersonalizeConfig::default()
    };
    let log = personalize(
        &generator,
        &gen_vs,
        &disc,
        &disc_vs,
        &shots,
        &config,
        &LayerRates::default(),
    )
    .unwrap();
    let after = score(&generator, &test);
    println!(
        "held-out frames: L1 {:.4} -> {:.4}, PSNR {:.2} -> {:.2} dB; training L1 {:.4} -> {:.4}",
        before.0,
        after.0,
        before.1,
        after.1,
        log.l1[0],
        log.l1[log.l1.len() - 1]
    );
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
    tch::manual_seed(2);
    let person = SyntheticPerson::random(12);
    let shots = frames(&person, &[0.0, 0.7, 1.4]);
    let gen_vs = VarStore::new(Device::Cpu);
    let generator = Pose2Im::new(&gen_vs.root(), Pose2ImConfig::lite(NUM_PARTS as i64));
    let disc_vs = VarStore::new(Device::Cpu);
    let discriminator = PatchGan::new(&disc_vs.root(), PatchGanConfig::lite(NUM_PARTS as i64 + 3));
    let disc_before: Vec<Tensor> = disc_vs
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
    let log = personalize(
        &generator,
        &gen_vs,
        &discriminator,
        &disc_vs,
        &shots,
        &config,
        &LayerRates::default(),
    )
    .unwrap();
    let (first, last) = (log.l1[0], *log.l1.last().unwrap());
    println!("L1-only: L1 {first:.3} -> {last:.3} on the shots");
    assert!(last < 0.8 * first, "{first} -> {last}");
    for (before, after) in disc_before.iter().zip(disc_vs.trainable_variables()) {
        assert!(before.equal(&after), "the discriminator moved");
    }
}
