//! `metapix synth` and `metapix pose` end to end: the demo's input is made, encoded, decoded
//! and tracked, and the skeletons found match the ground truth the synth wrote.

use std::path::Path;

use metapix::base::posefile;

use crate::util::{self, run, METAPIX_BIN};

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[test]
fn pose_of_a_synthetic_video_matches_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let synth = run(
        METAPIX_BIN,
        &[
            "synth",
            "--out",
            &d(""),
            "--seconds",
            "3",
            "--size",
            "384x512",
            "-q",
        ],
    );
    assert!(synth.status.success(), "{}", util::stderr(&synth));
    let video = dir.path().join("identity-000.mp4");
    let p = util::probe(&video);
    assert_eq!((p.frames, p.width, p.height), (90, 384, 512));

    let out = run(
        METAPIX_BIN,
        &[
            "pose",
            video.to_str().unwrap(),
            "--out",
            &d("poses.jsonl"),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", util::stderr(&out));
    let found = posefile::read(Path::new(&d("poses.jsonl"))).unwrap();
    let truth = posefile::read(&dir.path().join("identity-000.poses.jsonl")).unwrap();
    assert_eq!((found.len(), truth.len()), (90, 90));
    let mut errors = Vec::new();
    for (f, t) in found.iter().zip(&truth) {
        assert_eq!(f.index, t.index);
        assert!(
            (f.timestamp - t.timestamp).abs() < 1e-3,
            "frame {}: {} vs {}",
            f.index,
            f.timestamp,
            t.timestamp
        );
        assert!(f.found, "frame {}: the dancer was not found", f.index);
        let (fs, ts) = (f.skeleton(), t.skeleton());
        errors.extend(
            fs.landmarks
                .iter()
                .zip(&ts.landmarks)
                .map(|(a, b)| a.distance(b)),
        );
    }
    let med = median(errors);
    println!("metapix pose on the synthetic dancer (encoded, decoded, tracked, smoothed): median error {med:.2} px");
    assert!(med < 6.0, "median error {med:.2} px");
}

#[test]
fn pose_of_a_real_clip_and_a_still() {
    let Some(clip) = util::data_file("real/driving/tfjs_pose_1.mp4") else {
        return;
    };
    let still = util::data_file("real/targets/iper_stills/A_Pose__001_19_1_000.jpg").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("poses.jsonl");
    let result = run(
        METAPIX_BIN,
        &[
            "pose",
            clip.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(result.status.success(), "{}", util::stderr(&result));
    let records = posefile::read(&out).unwrap();
    assert_eq!(records.len(), 120);
    assert!(records.iter().all(|r| r.found && r.landmarks.len() == 33));
    assert!(records
        .windows(2)
        .all(|w| w[1].timestamp > w[0].timestamp && w[1].index == w[0].index + 1));
    let result = run(
        METAPIX_BIN,
        &[
            "pose",
            still.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(result.status.success(), "{}", util::stderr(&result));
    let records = posefile::read(&out).unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0].found);
    // The person stands inside the 300x300 still.
    assert!(records[0]
        .landmarks
        .iter()
        .all(|l| (0.0..300.0).contains(&l[0]) && (0.0..300.0).contains(&l[1])));
}
