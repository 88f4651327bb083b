//! The retargeting chain end to end on the CPU: prepare a target from a video, personalize
//! a generator on it, and render a driving video with it (the wiring: frame counts, sizes,
//! stages, checkpoint metadata); and the default avatar performing a real dancer's motion,
//! read back by the real pose model.

use crate::util::{self, run, METAPIX_BIN, STREAM_BIN};

#[test]
fn prepare_personalize_and_stream_with_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}", util::stderr(&out));
        util::stderr(&out)
    };
    ok(run(
        METAPIX_BIN,
        &[
            "synth",
            "--out",
            &d("people"),
            "--identities",
            "2",
            "--seconds",
            "2",
            "--size",
            "256x256",
            "-q",
        ],
    ));
    let target = d("people/identity-001.mp4");
    ok(run(
        METAPIX_BIN,
        &[
            "prepare",
            &target,
            "--out",
            &d("target"),
            "--size",
            "128",
            "-q",
        ],
    ));
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d("target/target.json")).unwrap()).unwrap();
    assert_eq!(
        (info["frames"].as_u64(), info["frames_with_person"].as_u64()),
        (Some(60), Some(60))
    );
    assert_eq!(std::fs::read_dir(d("target/frames")).unwrap().count(), 60);

    let model = d("me.safetensors");
    let said = ok(run(
        METAPIX_BIN,
        &[
            "personalize",
            &d("target"),
            "--shots",
            "3",
            "--steps",
            "2",
            "--device",
            "cpu",
            "--out",
            &model,
        ],
    ));
    println!("{said}");
    assert!(said.contains("held-out"), "{said}");
    let meta = metapix::model::checkpoint::read_meta(std::path::Path::new(&model)).unwrap();
    assert_eq!(meta.resolution, 128);
    assert!(meta.normalization.is_some());
    assert_eq!(meta.training["shots"].as_array().unwrap().len(), 3);

    let (out, stats) = (d("out.mp4"), d("stats.json"));
    let driving = d("people/identity-000.mp4");
    ok(run(
        STREAM_BIN,
        &[
            &driving,
            &out,
            "--model",
            &model,
            "--view",
            "side-by-side",
            "--size",
            "128",
            "--stats",
            &stats,
            "-q",
        ],
    ));
    let p = util::probe(std::path::Path::new(&out));
    assert_eq!((p.frames, p.width, p.height), (60, 384, 128));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["stages"]["generate"]["count"], 60);

    // Bad model files are one-line errors.
    std::fs::write(d("bad.safetensors"), b"nonsense").unwrap();
    let out = run(
        STREAM_BIN,
        &[&driving, &d("o.mp4"), "--model", &d("bad.safetensors")],
    );
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a safetensors checkpoint"), "{err}");
}

/// Body landmarks (shoulders to ankles) of each frame of a pose file; `None` where no one
/// was found.
type Track = Vec<Option<Vec<[f32; 2]>>>;

fn body_track(path: &std::path::Path) -> Track {
    metapix::base::posefile::read(path)
        .unwrap()
        .iter()
        .map(|r| {
            r.found.then(|| {
                r.skeleton().landmarks[11..29]
                    .iter()
                    .map(|l| [l.x, l.y])
                    .collect()
            })
        })
        .collect()
}

/// Median distance between `generated` landmarks and `driving` ones mapped by the one scale
/// and offset that fit best over the whole video, with `generated` read `lag` frames later:
/// the avatar's size and place differ from the dancer's, its pose must not.
fn pose_gap(
    driving: &[Option<Vec<[f32; 2]>>],
    generated: &[Option<Vec<[f32; 2]>>],
    lag: usize,
) -> f32 {
    let (mut d, mut g) = (Vec::new(), Vec::new());
    for (a, b) in driving.iter().zip(&generated[lag..]) {
        if let (Some(a), Some(b)) = (a, b) {
            d.extend_from_slice(a);
            g.extend_from_slice(b);
        }
    }
    let mean = |v: &[[f32; 2]]| {
        let s = v.iter().fold([0.0; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
        [s[0] / v.len() as f32, s[1] / v.len() as f32]
    };
    let (dm, gm) = (mean(&d), mean(&g));
    let (mut num, mut den) = (0.0, 0.0);
    for (p, q) in d.iter().zip(&g) {
        for k in 0..2 {
            num += (p[k] - dm[k]) * (q[k] - gm[k]);
            den += (p[k] - dm[k]).powi(2);
        }
    }
    let scale = num / den;
    let mut gaps: Vec<f32> = d
        .iter()
        .zip(&g)
        .map(|(p, q)| {
            (scale * (p[0] - dm[0]) + gm[0] - q[0]).hypot(scale * (p[1] - dm[1]) + gm[1] - q[1])
        })
        .collect();
    gaps.sort_by(f32::total_cmp);
    gaps[gaps.len() / 2]
}

#[test]
fn no_model_renders_the_default_avatar_in_the_driving_pose() {
    let Some(driving) = util::data_file("real/driving/tfjs_pose_1.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, stats) = (dir.path().join("out.mkv"), dir.path().join("stats.json"));
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let ok = |out: std::process::Output| assert!(out.status.success(), "{}", util::stderr(&out));
    ok(run(
        STREAM_BIN,
        &[
            &path(&driving),
            &path(&out),
            "--size",
            "256",
            "--stats",
            &path(&stats),
            "-q",
        ],
    ));
    let p = util::probe(&out);
    assert_eq!((p.frames, p.width, p.height), (120, 256, 256));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["stages"]["generate"]["count"], 120);

    // The real pose model reads the avatar's pose back: it must be the dancer's, frame for
    // frame, far closer than the dancer's pose a second later.
    let (found, in_step, a_second_off) = read_back(&driving, &out, dir.path());
    println!(
        "avatar found in {found}/120 frames; pose gap {in_step:.3} of its height in step, \
         {a_second_off:.3} a second off"
    );
    assert!(found >= 110, "the avatar was found in {found}/120 frames");
    assert!(in_step < 0.15, "{in_step}");
    assert!(in_step < 0.75 * a_second_off, "{in_step} vs {a_second_off}");
}

/// The pose model run on the `driving` video and on the `generated` one (into `dir`): in
/// how many generated frames it finds the body, and the pose gap (in body heights) between
/// them frame for frame and with the generated one a second (30 frames) late.
fn read_back(
    driving: &std::path::Path,
    generated: &std::path::Path,
    dir: &std::path::Path,
) -> (usize, f32, f32) {
    let (driving_poses, generated_poses) = (dir.join("d.jsonl"), dir.join("g.jsonl"));
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    for (video, poses) in [(driving, &driving_poses), (generated, &generated_poses)] {
        let out = run(
            METAPIX_BIN,
            &["pose", &path(video), "--out", &path(poses), "-q"],
        );
        assert!(out.status.success(), "{}", util::stderr(&out));
    }
    let (d, g) = (body_track(&driving_poses), body_track(&generated_poses));
    let found = g.iter().filter(|s| s.is_some()).count();
    // The body's height in its frames: shoulder (0) to ankle (16) of the body landmarks.
    let mut heights: Vec<f32> = g
        .iter()
        .flatten()
        .map(|b| (b[0][1] - b[16][1]).abs())
        .collect();
    heights.sort_by(f32::total_cmp);
    let height = heights.get(heights.len() / 2).copied().unwrap_or(f32::NAN);
    let in_step = pose_gap(&d, &g, 0) / height;
    let a_second_off = pose_gap(&d[..d.len() - 30], &g, 30) / height;
    (found, in_step, a_second_off)
}

/// The pose model's segmentation of frame `index` of the prepared target `dir` covers the
/// person's torso and hips and leaves the top corners (the room, inside the crop's margin).
fn check_person_mask(dir: &std::path::Path, index: usize) {
    let mask = image::open(dir.join("masks").join(format!("{index:06}.png")))
        .unwrap()
        .into_luma8();
    let records = metapix::base::posefile::read(&dir.join("poses.jsonl")).unwrap();
    let skeleton = records[index].skeleton();
    let at = |x: f32, y: f32| mask.get_pixel(x as u32, y as u32)[0];
    let [l_shoulder, r_shoulder, l_hip, r_hip] = [11, 12, 23, 24].map(|i| &skeleton.landmarks[i]);
    // The middle of the chest and of the hips, each the mean of two landmarks.
    let chest = at(
        (l_shoulder.x + r_shoulder.x) / 2.0,
        (l_shoulder.y + r_shoulder.y) / 2.0 + 5.0,
    );
    let hips = at((l_hip.x + r_hip.x) / 2.0, (l_hip.y + r_hip.y) / 2.0);
    let corners = [at(2.0, 2.0), at(mask.width() as f32 - 3.0, 2.0)];
    println!("mask: chest {chest}, hips {hips}, top corners {corners:?} (of 255)");
    assert!(chest > 200 && hips > 200, "chest {chest}, hips {hips}");
    assert!(corners.iter().all(|&c| c < 25), "{corners:?}");
}

/// A real person (tfjs_pose_squats) personalized as Posewarp from five frames, performing
/// a real dancer's motion: the pose model finds the person in the output, in the dancer's
/// pose.
#[test]
fn posewarp_moves_a_real_person_into_a_dancers_pose() {
    let (Some(target), Some(driving)) = (
        util::data_file("real/targets/tfjs_pose_squats.mp4"),
        util::data_file("real/driving/tfjs_pose_1.mp4"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}", util::stderr(&out));
        util::stderr(&out)
    };
    let target = target.to_string_lossy().into_owned();
    ok(run(
        METAPIX_BIN,
        &["prepare", &target, "--out", &d("me"), "--size", "256", "-q"],
    ));
    check_person_mask(&dir.path().join("me"), 20);
    let model = d("me.safetensors");
    let said = ok(run(
        METAPIX_BIN,
        &[
            "personalize",
            &d("me"),
            "--arch",
            "posewarp",
            "--shots",
            "5",
            "--steps",
            "2",
            "--device",
            "cpu",
            "--out",
            &model,
        ],
    ));
    println!("{said}");
    let meta = metapix::model::checkpoint::read_meta(std::path::Path::new(&model)).unwrap();
    assert_eq!(meta.arch.name(), "posewarp");
    // The checkpoint carries the five frames' masks for the stream to cut them with.
    let bytes = std::fs::read(&model).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        file.tensor("source.masks").unwrap().shape(),
        [5, 1, 256, 256]
    );
    let out = dir.path().join("out.mkv");
    ok(run(
        STREAM_BIN,
        &[
            &driving.to_string_lossy(),
            &out.to_string_lossy(),
            "--model",
            &model,
            "-q",
        ],
    ));
    let (found, in_step, a_second_off) = read_back(&driving, &out, dir.path());
    println!(
        "the person found in {found}/120 frames; pose gap {in_step:.3} of their height in \
         step, {a_second_off:.3} a second off"
    );
    assert!(found >= 108, "the person was found in {found}/120 frames");
    assert!(in_step < 0.75 * a_second_off, "{in_step} vs {a_second_off}");
}
