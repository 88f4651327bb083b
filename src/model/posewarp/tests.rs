//! Posewarp's tests: the warp, the layers, the fast shape and training.

use super::*;
use crate::model::{ArchConfig, Examples, Generator, Preset};
use crate::synth::SyntheticPerson;
use tch::nn::OptimizerConfig;

const SIZE: u32 = 64;

/// The person at times `ts`, as Posewarp's examples.
fn frames(person: &SyntheticPerson, ts: &[f32]) -> Examples {
    let rendered: Vec<_> = ts.iter().map(|&t| person.render(t, SIZE, SIZE)).collect();
    Examples::new(crate::model::InputFormat::JointMaps24, &rendered).unwrap()
}

/// [`frames`] with their exact body parts, as Posewarp's layer labels.
fn frames_with_parts(person: &SyntheticPerson, ts: &[f32]) -> Examples {
    let labels: Vec<Tensor> = ts
        .iter()
        .map(|&t| {
            // The renderer's 0 (no part) is the room, the layer after the limbs.
            let stored = Tensor::from_slice(&person.parts(t, SIZE, SIZE)).to_kind(Kind::Int64);
            ((stored - 1).remainder(LAYERS)).view([1, SIZE as i64, SIZE as i64])
        })
        .collect();
    frames(person, ts).with_parts(Tensor::stack(&labels, 0).to_kind(Kind::Uint8))
}

/// A lite Posewarp of random weights drawn from `seed`.
fn lite_posewarp(seed: i64) -> (nn::VarStore, Generator) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let generator = Generator::new(&vs.root(), &ArchConfig::posewarp(Preset::Lite));
    (vs, generator)
}

fn l1(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().mean(Kind::Float).double_value(&[])
}

#[test]
fn an_untrained_posewarp_moves_the_person_into_the_pose() {
    let (_vs, generator) = lite_posewarp(3);
    let person = SyntheticPerson::random(5);
    let shots = frames(&person, &[0.0, 0.7, 1.3]);
    let wanted = frames(&person, &[2.2, 2.9, 3.4]);
    let moved = generator.render(&shots, &wanted).unwrap();
    assert_eq!(moved.size(), [3, 3, SIZE as i64, SIZE as i64]);
    let nearest: Vec<i64> =
        crate::model::examples::nearest_shots(&shots.skeletons, &wanted.skeletons)
            .into_iter()
            .map(|i| i as i64)
            .collect();
    let copied = shots.select(&nearest).frames;
    let (warp, copy) = (l1(&moved, &wanted.frames), l1(&copied, &wanted.frames));
    // Its shots moved into their own poses come back nearly as they were.
    let itself = l1(&generator.render(&shots, &shots).unwrap(), &shots.frames);
    println!("L1 to the truth: moved {warp:.4}, nearest shot {copy:.4}; a shot into its own pose {itself:.4}");
    assert!(
        warp < copy,
        "moving ({warp:.4}) is no better than copying ({copy:.4})"
    );
    assert!(
        itself < 0.5 * copy,
        "a shot into its own pose changes by {itself:.4}"
    );
}

#[test]
fn the_fast_foreground_runs_at_half_size_and_learns() {
    let (full, fast) = (PosewarpConfig::lite(24), PosewarpConfig::lite_fast(24));
    assert_eq!(fast.size_multiple(), 2 * full.size_multiple());
    // Shapes written before the two fields read as full size without refinement.
    let mut json = serde_json::to_value(fast).unwrap();
    for field in ["foreground_scale", "refine_channels"] {
        json.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(
        serde_json::from_value::<PosewarpConfig>(json).unwrap(),
        full
    );
    // Gradient reaches the U-Net through the shrinking and the enlarging, and the
    // refinement: a few steps on one pair of frames bring the frame closer to the truth.
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Posewarp::new(&vs.root(), fast);
    let shots = frames(&SyntheticPerson::random(9), &[0.0, 1.0]);
    let condition = shots.moved_into(&[1, 0], &shots);
    let loss = || {
        (model.forward(&condition) - &shots.frames)
            .abs()
            .mean(Kind::Float)
    };
    let before = loss().double_value(&[]);
    let mut opt = nn::Adam::default().build(&vs, 1e-3).unwrap();
    for _ in 0..10 {
        opt.backward_step(&loss());
    }
    let after = loss().double_value(&[]);
    println!("L1 {before:.4} -> {after:.4}");
    assert!(after < 0.9 * before, "L1 {before:.4} -> {after:.4}");
}

#[test]
fn block_means_are_average_pooling() {
    let x = Tensor::randn([2, 5, 12, 18], (Kind::Float, Device::Cpu));
    let before = x.copy();
    for scale in [1, 2, 3] {
        let pooled = x.avg_pool2d([scale, scale], [scale, scale], [0, 0], false, true, None);
        // Means of a few values of size 1: f32 rounding is far below 1e-5.
        assert!(block_mean(&x, scale).allclose(&pooled, 0.0, 1e-5, false));
        // The input is left as it was (the moved layers and the caller's pose).
        assert!(x.equal(&before), "block_mean wrote into its input");
    }
}

#[test]
fn a_source_without_its_limbs_leaves_only_the_room() {
    // With every limb's grid outside the frame nothing of the person is moved: the
    // frame is the filled background, which for an untrained model is the plate.
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Posewarp::new(&vs.root(), PosewarpConfig::lite(24));
    let person = SyntheticPerson::random(8);
    let shots = frames(&person, &[0.0, 1.0]);
    let plate = shots.plates.as_ref().unwrap();
    let prepared = model.prepare(
        &shots.frames.narrow(0, 0, 1),
        &shots.poses.narrow(0, 0, 1),
        plate,
        None,
    );
    let outside = Tensor::full(
        [1, LIMBS, SIZE as i64, SIZE as i64, 2],
        10.0,
        (Kind::Float, Device::Cpu),
    );
    let out = tch::no_grad(|| model.render(&prepared, &outside, &shots.poses.narrow(0, 1, 1)));
    // Nothing moved leaves a coverage of EPS (1e-3): the frame is 0.999 plate and 0.001
    // black-ish foreground, so it differs from the plate by about 1e-3 of values of size
    // 1; a limb moved in would change the pixels it covers by tenths or more.
    assert!(l1(&out, plate) < 1e-2, "{}", l1(&out, plate));
}

#[test]
fn a_segmentation_decides_what_is_the_person_and_the_limbs_share_it() {
    let person = SyntheticPerson::random(7);
    let shots = frames(&person, &[0.0]);
    let limbs = limbs_of(&shots.poses);
    let s = SIZE as i64;
    // Say the person is the left half of the frame, whatever the limbs cover.
    let left = Tensor::arange(s, (Kind::Float, Device::Cpu))
        .lt(s / 2)
        .to_kind(Kind::Float)
        .view([1, 1, 1, s])
        .expand([1, 1, s, s], false);
    let prior = layer_prior(&limbs, Some(&left));
    let person_part = prior
        .narrow(1, 0, LIMBS)
        .sum_dim_intlist(1, true, Kind::Float);
    let room = prior.narrow(1, LIMBS, 1);
    // Where some limb reaches, the limbs together are exactly the segmentation.
    let reached = limbs.sum_dim_intlist(1, true, Kind::Float).gt(1e-5);
    let gap = (&person_part - &left).abs().masked_select(&reached).max();
    assert!(gap.double_value(&[]) < 1e-4, "{gap}");
    assert!(room.allclose(&(-&left + 1.0), 0.0, 1e-6, false));
    // Each pixel goes mostly to the limb whose mask is strongest there.
    let strongest = limbs.argmax(1, false);
    let share = prior.narrow(1, 0, LIMBS).argmax(1, false);
    let inside = reached
        .squeeze_dim(1)
        .logical_and(&left.squeeze_dim(1).gt(0.5));
    assert!(strongest
        .masked_select(&inside)
        .equal(&share.masked_select(&inside)));
    // Without a segmentation each limb keeps its own mask.
    let plain = layer_prior(&limbs, None);
    assert!(plain.narrow(1, 0, LIMBS).equal(&limbs));
}

#[test]
fn a_limbs_grid_samples_where_its_transform_says() {
    // The person at two times: each pixel of the second frame samples the first where
    // its limb's transform sends the pixel's centre; a missing limb samples far outside.
    let person = SyntheticPerson::random(4);
    let pose = |t: f32| crate::render::joints::joints(&person.render(t, SIZE, SIZE).1);
    let (from, to) = (pose(0.0), pose(1.1));
    let grids = limb_grids(&from, &to, SIZE, Device::Cpu);
    assert_eq!(grids.size(), [LIMBS, SIZE as i64, SIZE as i64, 2]);
    let s = f64::from(SIZE);
    for limb in 0..NUM_LIMBS {
        let Some([a, b, tx, ty]) = limb_transform(&from, &to, limb) else {
            assert!(
                grids
                    .get(limb as i64)
                    .ge(10.0 - 1e-4)
                    .all()
                    .int64_value(&[])
                    == 1
            );
            continue;
        };
        // Pixel centres go where the transform sends them, in grid coordinates.
        for (x, y) in [(3i64, 5i64), (40, 21), (63, 63)] {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let want = [(a * px - b * py + tx), (b * px + a * py + ty)]
                .map(|v| f64::from(v) / s * 2.0 - 1.0);
            for (axis, want) in want.iter().enumerate() {
                let got = grids.double_value(&[limb as i64, y, x, axis as i64]);
                // Grid coordinates are of size 1; f32 arithmetic holds 1e-4 of that.
                assert!(
                    (got - want).abs() < 1e-4,
                    "limb {limb}: {got} against {want}"
                );
            }
        }
    }
}

#[test]
fn rendering_by_the_limbs_maps_is_rendering_by_their_grids() {
    // What the stream's CUDA graph runs against the path training and eval take.
    let (_vs, generator) = lite_posewarp(6);
    let Generator::Posewarp(model) = &generator else {
        unreachable!("a Posewarp")
    };
    let person = SyntheticPerson::random(2);
    let shots = frames(&person, &[0.0, 1.2]);
    let prepared = model.prepare(
        &shots.frames.narrow(0, 0, 1),
        &shots.poses.narrow(0, 0, 1),
        shots.plates.as_ref().unwrap(),
        None,
    );
    let joints = crate::render::joints::joints;
    let (from, to) = (joints(&shots.skeletons[0]), joints(&shots.skeletons[1]));
    let pose = shots.poses.narrow(0, 1, 1);
    let grids = limb_grids(&from, &to, SIZE, Device::Cpu).unsqueeze(0);
    let theta = Tensor::from_slice(&limb_thetas(&from, &to, SIZE).concat());
    let (by_grids, by_maps) = tch::no_grad(|| {
        (
            model.render(&prepared, &grids, &pose),
            model.render_by_maps(&theta, prepared.layers(), prepared.fill(), &pose),
        )
    });
    // The same operations on the same numbers; values are of size 1.
    assert!(
        l1(&by_grids, &by_maps) < 1e-6,
        "{}",
        l1(&by_grids, &by_maps)
    );
    // And the maps matter: the source's own pose gives another frame.
    let still = Tensor::from_slice(&limb_thetas(&from, &from, SIZE).concat());
    let unmoved =
        tch::no_grad(|| model.render_by_maps(&still, prepared.layers(), prepared.fill(), &pose));
    assert!(l1(&unmoved, &by_maps) > 1e-3, "{}", l1(&unmoved, &by_maps));
}

#[test]
fn exact_part_labels_teach_the_segmentation() {
    let (vs, generator) = lite_posewarp(2);
    let person = SyntheticPerson::random(4);
    let shots = frames_with_parts(&person, &[0.0, 0.6, 1.2, 1.8]);
    let iou = |generator: &Generator| {
        let found = generator.layer_labels(&shots).unwrap().unwrap();
        let truth = shots.parts.as_ref().unwrap().squeeze_dim(1);
        crate::train::metrics::part_iou(&found, &truth, LAYERS).unwrap()
    };
    let before = iou(&generator);
    // The loss alone, on pairs of the shots: the mask U-Net learns where the parts are.
    let condition = shots.moved_into(&[1, 2, 3, 0], &shots);
    let mut opt = nn::Adam::default().build(&vs, 2e-3).unwrap();
    for _ in 0..15 {
        let (_, loss) = generator.forward_with_parts(&condition);
        opt.backward_step(&loss.expect("the sources carry parts"));
    }
    let after = iou(&generator);
    println!("part IoU {before:.3} -> {after:.3}");
    assert!(after > before + 0.03, "part IoU {before:.3} -> {after:.3}");
}

#[test]
fn letterboxing_blackens_the_same_sides_of_a_pairs_frames() {
    let person = SyntheticPerson::random(6);
    let shots = frames_with_parts(&person, &[0.0, 1.0, 2.0]);
    let batch = Batch {
        condition: shots.moved_into(&[1, 2, 0], &shots),
        real: shots.frames.shallow_clone(),
    };
    let mut rng = SplitMix64::new(1);
    let (mut barred, mut clean) = (0, 0);
    for _ in 0..8 {
        let b = letterboxed(
            Batch {
                condition: batch.condition.to(Device::Cpu, Kind::Float),
                real: batch.real.shallow_clone(),
            },
            &mut rng,
        );
        let source = b.condition.source.as_ref().unwrap();
        // Black columns are black in the target, its source and its plate alike.
        let black = |t: &Tensor| t.eq(-1.0).all_dims([1i64, 2].as_slice(), false);
        let columns = black(&b.real);
        assert!(columns.equal(&black(&source.image).logical_and(&columns)));
        assert!(columns.equal(&black(&source.background).logical_and(&columns)));
        // And the source's parts there are the room.
        let room = source
            .parts
            .as_ref()
            .unwrap()
            .eq(LIMBS)
            .all_dims([1i64, 2].as_slice(), false);
        assert!(columns.equal(&room.logical_and(&columns)));
        for pair in 0..3 {
            let count = i64::try_from(columns.get(pair).sum(Kind::Int64)).unwrap();
            if count > 0 {
                barred += 1
            } else {
                clean += 1
            }
        }
        // The middle of the frame is never covered.
        let mid = SIZE as i64 / 2;
        assert!(b
            .real
            .narrow(3, mid, 1)
            .equal(&batch.real.narrow(3, mid, 1)));
    }
    assert!(
        barred > 0 && clean > 0,
        "{barred} barred, {clean} clean batches"
    );
}

#[test]
fn the_clamp_gives_frames_in_range_and_pulls_overshooting_pixels_back() {
    let x = Tensor::from_slice(&[-84.0f32, -0.5, 0.25, 3.0]).set_requires_grad(true);
    let y = clamp_passing_gradient(&x);
    let clamped = Vec::<f32>::try_from(&y.detach()).unwrap();
    assert_eq!(clamped, [-1.0, -0.5, 0.25, 1.0]);
    // L1 towards targets inside the range: every pixel is pulled towards its target, the
    // two outside too (a plain clamp gives them 0 and they stay where they drifted).
    let target = Tensor::from_slice(&[-0.9f32, 0.0, 0.0, 0.5]);
    y.l1_loss(&target, tch::Reduction::Sum).backward();
    let grad = Vec::<f32>::try_from(&x.grad()).unwrap();
    assert_eq!(grad, [-1.0, -1.0, 1.0, 1.0]);
    // Without gradients, the plain clamp.
    let frame = clamp_passing_gradient(&x.detach());
    assert_eq!(Vec::<f32>::try_from(&frame).unwrap(), clamped);
}

#[test]
fn bounded_mask_corrections_keep_the_room_where_no_limb_is() {
    // A mask U-Net gone wild (every weight large) against the prior: bounded, it can move a
    // pixel between the layers the prior allows, but never into a limb the prior rules out.
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut model = Posewarp::new(&vs.root(), PosewarpConfig::lite(24));
    tch::no_grad(|| {
        for mut v in vs.trainable_variables() {
            let wild = v.randn_like() * 3.0;
            v.copy_(&wild);
        }
    });
    let person = SyntheticPerson::random(5);
    let shots = frames(&person, &[0.0]);
    let room_only = layer_prior(&limbs_of(&shots.poses), None)
        .narrow(1, LIMBS, 1)
        .squeeze_dim(1)
        .gt(0.999);
    let in_a_limb = |model: &Posewarp| {
        let labels = tch::no_grad(|| model.layer_labels(&shots.frames, &shots.poses, None));
        i64::try_from(labels.ne(LIMBS).logical_and(&room_only).sum(Kind::Int64)).unwrap()
    };
    let room_pixels = i64::try_from(room_only.sum(Kind::Int64)).unwrap();
    assert!(room_pixels > 1000, "{room_pixels}");
    model.config.mask_bound = 3;
    assert_eq!(in_a_limb(&model), 0);
    // The same weights unbounded take room pixels into limbs: the bound is what held them.
    model.config.mask_bound = 0;
    assert!(in_a_limb(&model) > 0);
}
