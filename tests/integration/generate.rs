//! The retargeting chain end to end on the CPU: prepare a target from a video, personalize
//! a generator on it, and render a driving video with it. Checks the wiring (frame counts,
//! sizes, stages, checkpoint metadata), not image quality, which needs a trained init.

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
    let out = run(STREAM_BIN, &[&driving, &d("o.mp4"), "--view", "gen"]);
    assert!(
        util::stderr(&out).contains("--view gen needs --model"),
        "{}",
        util::stderr(&out)
    );
}
