//! Faults a user meets, through the binaries: an output that fails mid-run, sizes and
//! checkpoints libtorch would panic on, Ctrl-C in the middle of long jobs, and repeat runs
//! that must give the same result or go on where the last one stopped. Each ends in one
//! line and a clear exit status, never a panic or a hang.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::errors::fails_with;
use crate::util::{self, interrupt, make_clip, run, wait, METAPIX_BIN, STREAM_BIN};

/// Runs `metapix ARGS`, which must succeed; returns what it said on stderr.
fn ok(args: &[&str]) -> String {
    let out = run(METAPIX_BIN, args);
    assert!(out.status.success(), "{args:?}: {}", util::stderr(&out));
    util::stderr(&out)
}

/// Synthetic people as prepared targets of `size` px (a few seconds each, at 10 fps).
fn synth_targets(out: &Path, people: &str, size: &str, seed: &str) {
    let out = out.to_str().unwrap();
    ok(&[
        "synth",
        "--out",
        out,
        "--prepared",
        "--identities",
        people,
        "--seconds",
        "3",
        "--fps",
        "10",
        "--size",
        size,
        "--seed",
        seed,
        "-q",
    ]);
}

/// Starts a binary with its stderr kept in `log`.
fn start(bin: &str, args: &[&str], log: &Path) -> Child {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the binary starts")
}

/// A file of the shared footage, or where there is none, a clip of `frames` frames in `dir`.
fn footage_or_clip(relative: &str, frames: u32, dir: &Path) -> std::path::PathBuf {
    util::data_file(relative).unwrap_or_else(|| {
        let clip = dir.join("clip.mp4");
        make_clip(&clip, frames, 30, false);
        clip
    })
}

/// The lines of `log` that are not the Ctrl-C notice.
fn said(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("stopping:"))
        .map(String::from)
        .collect()
}

#[test]
fn an_output_that_fails_mid_run_ends_the_run_in_one_line() {
    // The output file is a link to /dev/full: the encoder's first flush fails with "no
    // space", well into the run. Before, metapix-stream hung there, deaf to SIGTERM.
    let dir = tempfile::tempdir().unwrap();
    let input = footage_or_clip("real/driving/tfjs_pose_1.mp4", 120, dir.path());
    let out = dir.path().join("out.mp4");
    std::os::unix::fs::symlink("/dev/full", &out).unwrap();
    let log = dir.path().join("log");
    let args = [input.to_str().unwrap(), out.to_str().unwrap(), "-q"];
    let started = Instant::now();
    let mut child = start(STREAM_BIN, &args, &log);
    let status = wait(&mut child, Duration::from_secs(60), "the run");
    let lines = said(&log);
    println!("after {:?}: {lines:?}", started.elapsed());
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("metapix-stream: error:"), "{lines:?}");
    assert!(lines[0].to_lowercase().contains("space"), "{lines:?}");
}

#[test]
fn sizes_counts_and_checkpoints_libtorch_would_panic_on_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let m = METAPIX_BIN;
    // A size no generator takes is refused where it is chosen.
    let clip = dir.path().join("clip.mp4");
    make_clip(&clip, 10, 30, false);
    fails_with(
        m,
        &[
            "prepare",
            clip.to_str().unwrap(),
            "--out",
            &d("t"),
            "--size",
            "100",
        ],
        "multiples of 16",
    );
    fails_with(
        m,
        &[
            "synth",
            "--out",
            &d("s"),
            "--prepared",
            "--size",
            "100x100",
            "-q",
        ],
        "multiples of 16",
    );
    // A target made at such a size (by hand, or by an older metapix) is refused before
    // training starts, with what to do about it.
    synth_targets(Path::new(&d("people")), "1", "64x64", "4");
    let target = d("people/identity-000");
    let info_path = Path::new(&target).join("target.json");
    let mut info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
    info["size"] = 100.into();
    std::fs::write(&info_path, serde_json::to_vec(&info).unwrap()).unwrap();
    fails_with(
        m,
        &[
            "personalize",
            &target,
            "--out",
            &d("me.safetensors"),
            "--device",
            "cpu",
        ],
        "prepare it again with another --size",
    );
    synth_targets(Path::new(&d("more")), "1", "64x64", "5");
    fails_with(
        m,
        &[
            "eval",
            &d("more"),
            "--init",
            "m=metapix",
            "--shots",
            "0",
            "--out",
            &d("r.json"),
        ],
        "--shots and --batch must be at least 1",
    );
    // A missing init names the file and says why once.
    let out = run(
        m,
        &[
            "personalize",
            &d("more/identity-000"),
            "--init",
            &d("gone.safetensors"),
            "--out",
            &d("x"),
        ],
    );
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");

    // A checkpoint whose metadata says resolution 0 (or anything the generator cannot be
    // built at), given to the stream.
    let clip = clip.to_str().unwrap();
    for (field, value, says) in [
        ("resolution", serde_json::json!(0), "resolution 0 px"),
        ("resolution", serde_json::json!(100), "resolution 100 px"),
        (
            "architecture",
            serde_json::json!("hologram"),
            "architecture hologram",
        ),
    ] {
        let bad = d(&format!("bad-{field}-{value}.safetensors"));
        std::fs::write(
            &bad,
            with_meta(metapix::model::DEFAULT_AVATAR.bytes, field, value),
        )
        .unwrap();
        fails_with(
            STREAM_BIN,
            &[clip, &d("o.mp4"), "--model", &bad, "-q"],
            says,
        );
    }
    assert!(!Path::new(&d("o.mp4")).exists());
}

/// A checkpoint's bytes with one field of its metadata replaced.
fn with_meta(bytes: &[u8], field: &str, value: serde_json::Value) -> Vec<u8> {
    use safetensors::tensor::SafeTensors;
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(&header.metadata().as_ref().unwrap()["metapix"]).unwrap();
    meta[field] = value;
    let file = SafeTensors::deserialize(bytes).unwrap();
    let tensors = file.tensors();
    let info = std::collections::HashMap::from([("metapix".to_string(), meta.to_string())]);
    safetensors::serialize(tensors, Some(info)).unwrap()
}

#[test]
fn ctrl_c_in_prepare_leaves_no_finished_looking_target() {
    // Long enough to be stopped in its first pass: a 1000-frame clip, or a synthetic one.
    let dir = tempfile::tempdir().unwrap();
    let edn = "real/targets/edn_subject4/subject4_1000frames_7.5fps.mp4";
    let input = footage_or_clip(edn, 900, dir.path());
    let out = dir.path().join("target");
    let log = dir.path().join("log");
    let args = [
        "prepare",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let mut child = start(METAPIX_BIN, &args, &log);
    std::thread::sleep(Duration::from_millis(2500));
    interrupt(&child);
    let status = wait(&mut child, Duration::from_secs(60), "the run");
    let lines = said(&log);
    println!("{lines:?}");
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("interrupted") && lines[0].contains("unfinished"),
        "{lines:?}"
    );
    // target.json marks a finished target: it must not be there.
    assert!(!out.join("target.json").exists());
    fails_with(
        METAPIX_BIN,
        &[
            "personalize",
            out.to_str().unwrap(),
            "--out",
            "x.safetensors",
        ],
        "is not a prepared target",
    );
}

#[test]
fn ctrl_c_in_pretrain_keeps_a_checkpoint_of_the_steps_done() {
    let dir = tempfile::tempdir().unwrap();
    synth_targets(&dir.path().join("people"), "2", "64x64", "6");
    let out = dir.path().join("pre.safetensors");
    let log = dir.path().join("log");
    let people = dir.path().join("people");
    let args = [
        "pretrain",
        people.to_str().unwrap(),
        "--steps",
        "1000000",
        "--batch",
        "2",
        "--checkpoint-every",
        "5",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let mut child = start(METAPIX_BIN, &args, &log);
    // A checkpoint appears as it goes, before any stop.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !out.exists() {
        assert!(Instant::now() < deadline, "no checkpoint yet");
        std::thread::sleep(Duration::from_millis(100));
    }
    interrupt(&child);
    let status = wait(&mut child, Duration::from_secs(60), "the run");
    let lines = said(&log);
    assert!(status.success(), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("stopped early")),
        "{lines:?}"
    );
    let meta = metapix::model::checkpoint::read_meta(&out).unwrap();
    let steps = meta.training["step"].as_u64().unwrap();
    println!("stopped after {steps} steps");
    assert!((5..1_000_000).contains(&steps), "{steps}");
}

#[test]
fn a_seed_repeats_a_personalization_from_random_weights() {
    let dir = tempfile::tempdir().unwrap();
    synth_targets(&dir.path().join("people"), "1", "64x64", "7");
    let target = dir.path().join("people/identity-000");
    let run_with = |seed: &str, name: &str| {
        let out = dir.path().join(name);
        ok(&[
            "personalize",
            target.to_str().unwrap(),
            "--init",
            "random",
            "--seed",
            seed,
            "--shots",
            "3",
            "--steps",
            "2",
            "--batch",
            "2",
            "--device",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ]);
        weights(&out)
    };
    let (a, b, c) = (run_with("3", "a"), run_with("3", "b"), run_with("4", "c"));
    assert_eq!(a, b, "the same seed gave other weights");
    assert_ne!(a, c, "another seed gave the same weights");
}

/// Every weight of a checkpoint (not the person's frames it carries), in name order.
fn weights(checkpoint: &Path) -> Vec<u8> {
    let bytes = std::fs::read(checkpoint).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    names
        .iter()
        .filter(|n| !n.starts_with("source."))
        .flat_map(|n| file.tensor(n).unwrap().data().to_vec())
        .collect()
}

/// A learning rate far too high wrecks the weights in a few steps: the checkpoint then holds
/// the init's (those of T 0), and the user is told why, while a sane rate keeps its training.
#[test]
fn a_personalization_that_falls_apart_keeps_the_init() {
    let dir = tempfile::tempdir().unwrap();
    synth_targets(&dir.path().join("people"), "1", "64x64", "7");
    let target = dir.path().join("people/identity-000");
    let run_with = |steps: &str, lr: &str| {
        let out = dir.path().join(format!("t{steps}-lr{lr}.safetensors"));
        let mut args = vec!["personalize", target.to_str().unwrap()];
        args.extend(["--init", "random", "--arch", "posewarp", "--seed", "3"]);
        args.extend(["--shots", "3", "--steps", steps, "--batch", "2", "--lr", lr]);
        args.extend(["--device", "cpu", "--out", out.to_str().unwrap()]);
        let said = ok(&args);
        let meta = metapix::model::checkpoint::read_meta(&out).unwrap();
        let held_out = meta.training["held_out"].clone();
        (weights(&out), said, held_out)
    };
    let (init, _, _) = run_with("0", "6e-4");
    let (wrecked, said, held_out) = run_with("6", "1");
    assert!(said.contains("fell apart"), "{said}");
    assert_eq!(held_out["kept_init"], true, "{held_out}");
    let psnr = |key: &str| held_out[key].as_f64().unwrap_or(f64::NAN);
    let after = psnr("psnr_after");
    let margin = metapix::jobs::personalize::FELL_APART_DB;
    assert!(
        after.is_nan() || after < psnr("psnr_before") - margin,
        "{held_out}"
    );
    assert!(wrecked == init, "the wrecked weights were saved");
    let (trained, said, held_out) = run_with("6", "6e-4");
    assert!(!said.contains("fell apart"), "{said}");
    assert_eq!(held_out["kept_init"], false, "{held_out}");
    assert!(trained != init, "a sane personalization kept the init");
}

#[test]
fn eval_writes_each_cell_as_it_comes_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let people = dir.path().join("people");
    synth_targets(&people, "2", "64x64", "8");
    let out = dir.path().join("r.json");
    let args = [
        "eval",
        people.to_str().unwrap(),
        "--init",
        "scratch=random",
        "--shots",
        "3",
        "--steps",
        "0,1,2",
        "--batch",
        "2",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ];
    ok(&args);
    let records = dir.path().join("r.jsonl");
    let first = std::fs::read_to_string(&records).unwrap();
    // A header line, then one record per cell: 2 people x 1 init x 1 K x 3 T.
    assert_eq!(first.lines().count(), 7, "{first}");
    // Lose the last two cells, as a run stopped there would have.
    let kept: Vec<&str> = first.lines().take(5).collect();
    std::fs::write(&records, kept.join("\n") + "\n").unwrap();
    let said = ok(&args);
    assert!(
        said.contains("resuming") && said.contains("4 cells"),
        "{said}"
    );
    let again = std::fs::read_to_string(&records).unwrap();
    assert_eq!(again.lines().count(), 7);
    // The cells done again are the same (one seed, one machine): the table is the same.
    let table: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(table.as_array().unwrap().len(), 6);
    assert_eq!(first, again, "a resumed run changed the records");
    // Other settings are not mixed into the same records.
    let mut other = args.to_vec();
    other.extend(["--lr", "0.01"]);
    crate::errors::fails_with(METAPIX_BIN, &other, "other settings");
}
