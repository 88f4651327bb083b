//! Bad input: each case gets one line on stderr naming the problem, a non-zero exit, no panic
//! and no output file.

use std::path::Path;

use crate::util::{self, make_clip, run, METAPIX_BIN, STREAM_BIN};

/// Runs `bin` with `args`, expecting failure with a one-line error containing `expect`.
pub(crate) fn fails_with(bin: &str, args: &[&str], expect: &str) {
    let out = run(bin, args);
    let err = util::stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: exit {:?}, stderr {err}",
        out.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line: {err}");
    assert!(
        lines[0].contains("error:") && lines[0].contains(expect),
        "{args:?}: {err}"
    );
    println!("{args:?} -> {}", lines[0]);
}

#[test]
fn bad_inputs_get_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let out = d("out.mp4");
    std::fs::write(d("text.mp4"), "this is not a video\n").unwrap();
    // A clip cut in half: its index (written last) is gone.
    make_clip(Path::new(&d("whole.mp4")), 90, 30, false);
    let whole = std::fs::read(d("whole.mp4")).unwrap();
    std::fs::write(d("cut.mp4"), &whole[..whole.len() / 2]).unwrap();

    let s = STREAM_BIN;
    fails_with(s, &[&d("missing.mp4"), &out], "input not found");
    fails_with(s, &[dir.path().to_str().unwrap(), &out], "is a directory");
    fails_with(s, &[&d("text.mp4"), &out], "not a video we can read");
    fails_with(s, &[&d("cut.mp4"), &out], "not a video we can read");
    fails_with(
        s,
        &[&d("whole.mp4"), &d("no/such/dir/out.mp4")],
        "output directory does not exist",
    );
    fails_with(s, &[&d("whole.mp4"), &d("out.avi")], "unknown output type");
    fails_with(s, &[&d("whole.mp4"), &out, "--size", "7"], "--size 7");
    fails_with(
        s,
        &[&d("whole.mp4"), &out, "--models", &d("nomodels")],
        "pose model pose_detection.onnx not found",
    );
    assert!(
        !Path::new(&out).exists(),
        "no output file is left behind by a failed start"
    );

    let m = METAPIX_BIN;
    let poses = d("poses.jsonl");
    fails_with(
        m,
        &["pose", &d("missing.mp4"), "--out", &poses],
        "input not found",
    );
    fails_with(
        m,
        &["pose", &d("text.mp4"), "--out", &poses],
        "not a video we can read",
    );
    fails_with(
        m,
        &["pose", &d("whole.mp4"), "--out", &d("no/dir/p.jsonl")],
        "output directory does not exist",
    );
    assert!(!Path::new(&poses).exists());
}

#[test]
fn read_only_output_is_refused_before_work_starts() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    make_clip(&clip, 10, 30, false);
    // Root writes through permission bits, so use a read-only mount where there is one.
    let target = if is_root() {
        Path::new("/sys/metapix-out.mp4").to_path_buf()
    } else {
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        let mut perm = std::fs::metadata(&ro).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o555);
        std::fs::set_permissions(&ro, perm).unwrap();
        ro.join("out.mp4")
    };
    fails_with(
        STREAM_BIN,
        &[clip.to_str().unwrap(), target.to_str().unwrap()],
        "cannot write output",
    );
}

#[test]
fn a_file_truncated_mid_stream_keeps_what_was_read_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cut = util::make_cut_clip(dir.path());
    let out = dir.path().join("out.mp4");
    fails_with(
        STREAM_BIN,
        &[cut.to_str().unwrap(), out.to_str().unwrap(), "-q"],
        "looks truncated",
    );
    let p = util::probe(&out);
    assert!(p.frames > 10 && p.frames < 90, "kept {} frames", p.frames);
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}
