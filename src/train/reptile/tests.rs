use super::*;
use crate::model::{PatchGan, PatchGanConfig, Pose2ImConfig};
use crate::Skeleton;

const CHANNELS: i64 = 4;

fn arch() -> ArchConfig {
    ArchConfig::Pose2Im(Pose2ImConfig::lite(CHANNELS))
}

fn models(seed: i64) -> Models {
    tch::manual_seed(seed);
    let gen_vs = VarStore::new(Device::Cpu);
    let generator = Generator::new(&gen_vs.root(), &arch());
    let disc_vs = VarStore::new(Device::Cpu);
    let discriminator = PatchGan::new(&disc_vs.root(), PatchGanConfig::lite(CHANNELS + 3));
    Models {
        gen_vs,
        generator,
        disc_vs,
        discriminator,
        rates: LayerRates::default(),
        init_name: format!("random {seed}"),
    }
}

/// A copy of `m`'s weights in fresh models (tests on other threads reseed the global
/// generator, so copies, not a second `models(seed)`, are the same weights).
fn copy_of(m: &Models) -> Models {
    m.copy().unwrap()
}

fn flat(vs: &VarStore) -> Tensor {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::cat(
        &v.iter().map(|(_, t)| t.flatten(0, -1)).collect::<Vec<_>>(),
        0,
    )
}

fn random_examples(n: i64) -> Examples {
    Examples {
        frames: Tensor::rand([n, 3, 64, 64], (Kind::Float, Device::Cpu)) * 2.0 - 1.0,
        poses: Tensor::rand([n, CHANNELS, 64, 64], (Kind::Float, Device::Cpu)),
        skeletons: vec![Skeleton::none(); n as usize],
        people: vec![0; n as usize],
        plates: None,
        masks: None,
        parts: None,
    }
}

fn l1_inner(steps: usize) -> PersonalizeConfig {
    PersonalizeConfig {
        steps,
        batch: 2,
        constant_steps: steps / 2,
        adversarial: false,
        ..PersonalizeConfig::default()
    }
}

/// Sum over `names` of |a - b| for tensors of two stores.
fn l1_distance(a: &VarStore, b: &VarStore, names: &[String]) -> f64 {
    let (a, b) = (a.variables(), b.variables());
    names
        .iter()
        .map(|n| (&a[n] - &b[n]).abs().sum(Kind::Double).double_value(&[]))
        .sum()
}

#[test]
fn a_grouped_step_matches_tasks_run_one_after_another() {
    let tasks: Vec<Examples> = (0..3).map(|_| random_examples(4)).collect();
    // One inner step: after it, Adam turns the rounding of grouped against plain
    // convolutions into steps of either sign on weights whose gradient is near zero, and by
    // the fourth step the weights drift 1-3% apart (measured) with nothing wrong in either
    // run, and their losses 0.3%. Both call the same personalize(); what this compares is
    // the grouped batches, gradients and outer update against the plain ones.
    let inner = l1_inner(1);
    let one_by_one_start = models(1);
    let mut one_by_one = copy_of(&one_by_one_start);
    let mut together = copy_of(&one_by_one_start);
    let disc_before = flat(&together.disc_vs);
    let mut fast = one_by_one.blank();
    let grouped = GroupedFast::new(&arch(), 3, Device::Cpu).expect("pose2im groups");
    let uniform = LayerRates::default();
    let step = OuterStep {
        tasks: &tasks,
        queries: &[],
        inner: &inner,
        rates: &uniform,
        eps: 0.7,
        seed: 5,
    };
    let seq = reptile_step(&mut one_by_one, &mut fast, &step).unwrap();
    let grp = reptile_step_grouped(&mut together, &grouped, &step).unwrap();
    // The biases of the layers instance norm follows (all but the head's) cannot change the
    // output, so their true gradient is 0 and Adam turns the rounding noise they get into
    // steps of up to its learning rate, of either sign, in each run: they are compared
    // with nothing. Every other tensor moves by what its task's frames ask.
    let compared: Vec<String> = together
        .gen_vs
        .variables()
        .into_keys()
        .filter(|n| !n.ends_with(".bias") || n == "head.bias")
        .collect();
    let moved = l1_distance(&one_by_one.gen_vs, &one_by_one_start.gen_vs, &compared);
    let gap = l1_distance(&one_by_one.gen_vs, &together.gen_vs, &compared);
    println!(
        "grouped and sequential: gap {:.3e} of the move",
        gap / moved
    );
    assert!(moved > 0.0, "the step did not move the meta-weights");
    // Measured 4e-6 to 1e-5 of the move here (and gradients within 3e-6); a CPU whose
    // convolutions round 40 times coarser (AVX-512 Xeons, above) stays far under 1e-3,
    // while a tenth of the outer step lost, or a task's frames given to another group,
    // leaves a gap of 10% to 100% of the move.
    assert!(
        gap < 1e-3 * moved,
        "grouped and sequential differ by {:.2e} of the move",
        gap / moved
    );
    for (s, g) in seq.last_l1.iter().zip(&grp.last_l1) {
        assert!(
            (s - g).abs() < 1e-3 * s.abs().max(1.0),
            "last L1 {s} vs {g}"
        );
    }
    assert_eq!(seq.last_l1.len(), 3);
    // The discriminator is left as it was, as L1-only personalization leaves it.
    assert!(flat(&together.disc_vs).equal(&disc_before));
    // The GAN inner loop needs a grouped discriminator: refused, not silently changed.
    let gan = PersonalizeConfig {
        adversarial: true,
        ..inner
    };
    let refused = reptile_step_grouped(
        &mut together,
        &grouped,
        &OuterStep {
            tasks: &tasks,
            queries: &[],
            inner: &gan,
            rates: &uniform,
            eps: 0.7,
            seed: 5,
        },
    );
    assert!(matches!(refused, Err(TrainError::Setup(_))));
}

#[test]
fn the_rate_hypergradient_is_how_the_query_loss_moves_with_a_rate() {
    let tasks = [random_examples(3), random_examples(3)];
    let queries = [random_examples(2), random_examples(2)];
    // One inner step: Adam's first step does not depend on the rates, so the
    // first-order hypergradient is the exact derivative in log m.
    let inner = PersonalizeConfig {
        constant_steps: 1,
        ..l1_inner(1)
    };
    let mut meta = models(1);
    let grouped = GroupedFast::new(&arch(), 2, Device::Cpu).unwrap();
    // eps 0 leaves the meta-weights where they are, so every call starts alike.
    let mut step = |rates: &LayerRates| {
        reptile_step_grouped(
            &mut meta,
            &grouped,
            &OuterStep {
                tasks: &tasks,
                queries: &queries,
                inner: &inner,
                rates,
                eps: 0.0,
                seed: 9,
            },
        )
        .unwrap()
    };
    let outcome = step(&LayerRates::default());
    let h = outcome.hypergradient.expect("queries give a hypergradient");
    assert_eq!(outcome.query_l1.len(), 2);
    // Each tensor's hypergradient against central differences of the query loss in its
    // log-rate; biases that instance norm cancels have neither.
    let delta: f64 = 0.05;
    let mut query_loss = |name: &String, log_m: f64| {
        let rates = LayerRates::new(BTreeMap::from([(name.clone(), log_m.exp())]));
        step(&rates).query_l1.iter().sum::<f64>()
    };
    let (mut dot, mut hh, mut ff) = (0.0, 0.0, 0.0);
    for (name, &dl) in h.iter().filter(|(_, dl)| dl.abs() > 1e-5) {
        let slope = (query_loss(name, delta) - query_loss(name, -delta)) / (2.0 * delta);
        println!("{name}: hypergradient {dl:.6}, finite difference {slope:.6}");
        (dot, hh, ff) = (dot + dl * slope, hh + dl * dl, ff + slope * slope);
    }
    assert!(hh > 1e-8, "no hypergradient: {h:?}");
    let cosine = dot / (hh * ff).sqrt();
    assert!(
        cosine > 0.95,
        "hypergradients and finite differences: cosine {cosine}"
    );
}

#[test]
fn tasks_one_after_another_give_the_grouped_rate_hypergradient() {
    let tasks = [random_examples(3), random_examples(3)];
    let queries = [random_examples(2), random_examples(2)];
    let inner = l1_inner(1);
    let uniform = LayerRates::default();
    let start = models(3);
    let (mut together, mut one_by_one) = (copy_of(&start), copy_of(&start));
    let grouped = GroupedFast::new(&arch(), 2, Device::Cpu).unwrap();
    let step = OuterStep {
        tasks: &tasks,
        queries: &queries,
        inner: &inner,
        rates: &uniform,
        eps: 0.0,
        seed: 9,
    };
    let grp = reptile_step_grouped(&mut together, &grouped, &step).unwrap();
    let mut fast = one_by_one.blank();
    let seq = reptile_step(&mut one_by_one, &mut fast, &step).unwrap();
    let (g, s) = (grp.hypergradient.unwrap(), seq.hypergradient.unwrap());
    assert_eq!(g.keys().collect::<Vec<_>>(), s.keys().collect::<Vec<_>>());
    let (mut dot, mut gg, mut ss) = (0.0, 0.0, 0.0);
    for (name, gv) in &g {
        let sv = s[name];
        (dot, gg, ss) = (dot + gv * sv, gg + gv * gv, ss + sv * sv);
    }
    let cosine = dot / (gg * ss).sqrt();
    println!("grouped and sequential hypergradients: cosine {cosine}, norms {gg:.3e} {ss:.3e}");
    // One inner step, so the two runs' weights agree to about 1e-5 of their move
    // (a_grouped_step_matches_tasks_run_one_after_another); a task scored on another's
    // queries, or a hypergradient not summed over tasks, leaves them far apart.
    assert!(gg > 1e-12, "no hypergradient");
    assert!(cosine > 0.999, "cosine {cosine}");
    assert!((gg.sqrt() - ss.sqrt()).abs() < 1e-2 * gg.sqrt());
    for (a, b) in grp.query_l1.iter().zip(&seq.query_l1) {
        assert!(
            (a - b).abs() < 1e-3 * a.abs().max(1e-3),
            "query L1 {a} vs {b}"
        );
    }
    assert_eq!(seq.query_l1.len(), 2);
}

#[test]
fn eps_falls_linearly_to_zero() {
    let c = ReptileConfig {
        meta_iterations: 4,
        meta_batch: 2,
        eps: 1.0,
        inner: PersonalizeConfig::default(),
    };
    let e: Vec<f64> = (0..5).map(|i| c.eps_at(i)).collect();
    assert_eq!(e, vec![1.0, 0.75, 0.5, 0.25, 0.0]);
}

#[test]
fn the_outer_step_interpolates_towards_the_personalized_weights() {
    let mut meta = models(1);
    let mut fast = meta.blank();
    let task = [random_examples(3)];
    let inner = PersonalizeConfig {
        steps: 2,
        batch: 2,
        constant_steps: 1,
        adversarial: true,
        ..PersonalizeConfig::default()
    };
    let uniform = LayerRates::default();
    let before = flat(&meta.gen_vs);
    let step = |eps| OuterStep {
        tasks: &task,
        queries: &[],
        inner: &inner,
        rates: &uniform,
        eps,
        seed: 0,
    };
    // eps 0 leaves the meta-weights alone; the fast copy trained away from them.
    reptile_step(&mut meta, &mut fast, &step(0.0)).unwrap();
    assert!(flat(&meta.gen_vs).equal(&before));
    let adapted = flat(&fast.gen_vs);
    assert!((&adapted - &before).abs().max().double_value(&[]) > 1e-6);
    // Elementwise f32 arithmetic on weights of size ~1: within 1e-5 relative and absolute
    // on any CPU (a few roundings of 6e-8 each), far below the move.
    // eps 1 with one task lands on the personalized weights (same seed, same run).
    reptile_step(&mut meta, &mut fast, &step(1.0)).unwrap();
    let moved = flat(&meta.gen_vs);
    assert!(moved.allclose(&adapted, 1e-5, 1e-5, false));
    // eps 0.5: halfway between the old meta-weights and the new personalized ones.
    let start = flat(&meta.gen_vs);
    reptile_step(&mut meta, &mut fast, &step(0.5)).unwrap();
    let expected = (&start + flat(&fast.gen_vs)) / 2.0;
    assert!(flat(&meta.gen_vs).allclose(&expected, 1e-5, 1e-5, false));
}
