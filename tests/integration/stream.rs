//! metapix-stream from file to file: frames, rate, duration, audio, views, stats, signals.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{self, make_clip, probe, run, STREAM_BIN};

fn stats(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("stats written")).expect("stats json")
}

#[test]
fn real_clip_side_by_side_keeps_every_frame_and_the_rate() {
    let Some(input) = util::data_file("real/driving/unianimate_source_video.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, json) = (dir.path().join("out.mp4"), dir.path().join("stats.json"));
    let args = [
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--view",
        "side-by-side",
    ];
    let result = run(
        STREAM_BIN,
        &[&args[..], &["--stats", json.to_str().unwrap()]].concat(),
    );
    assert!(result.status.success(), "{}", util::stderr(&result));
    let p = probe(&out);
    println!("output: {p:?}");
    // Driving frame, skeleton and the default avatar.
    assert_eq!((p.frames, p.width, p.height), (150, 1536, 512));
    assert!((p.fps - 16.0).abs() < 1e-6, "fps {}", p.fps);
    assert!(
        (p.duration - 150.0 / 16.0).abs() < 0.1,
        "duration {}",
        p.duration
    );
    let s = stats(&json);
    assert_eq!(
        (s["frames_in"].as_u64(), s["frames_out"].as_u64()),
        (Some(150), Some(150))
    );
    assert_eq!(s["frames_without_person"], 0, "she is in every frame");
    for stage in ["pose", "generate", "render", "encode"] {
        let p99 = s["stages"][stage]["p99_ms"].as_f64().unwrap();
        assert!(p99 > 0.0 && p99 >= s["stages"][stage]["p50_ms"].as_f64().unwrap());
    }
    assert!(s["end_to_end"]["p95_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(s["interrupted"], false);
    // Progress went to stderr.
    assert!(
        util::stderr(&result).contains("150/150 frames"),
        "{}",
        util::stderr(&result)
    );
}

#[test]
fn audio_is_carried_over_in_sync_in_every_container() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("tone.mp4");
    make_clip(&clip, 60, 30, true);
    let source = probe(&clip);
    let (src_start, src_end) = source.audio_span.expect("the test clip has audio");
    for ext in ["mp4", "mkv", "webm"] {
        let out = dir.path().join(format!("out.{ext}"));
        let json = dir.path().join(format!("{ext}.json"));
        let args = [
            clip.to_str().unwrap(),
            out.to_str().unwrap(),
            "--size",
            "128",
            "-q",
        ];
        let result = run(
            STREAM_BIN,
            &[&args[..], &["--stats", json.to_str().unwrap()]].concat(),
        );
        assert!(result.status.success(), "{ext}: {}", util::stderr(&result));
        let p = probe(&out);
        println!("{ext}: {p:?}");
        assert_eq!((p.frames, p.width, p.height), (60, 128, 128), "{ext}");
        assert!((p.fps - 30.0).abs() < 1e-6, "{ext}: fps {}", p.fps);
        let (start, end) = p
            .audio_span
            .unwrap_or_else(|| panic!("{ext}: audio track missing"));
        // Same place on the timeline as in the source (encoder priming aside).
        assert!(
            (start - src_start).abs() < 0.05,
            "{ext}: audio starts at {start} s, source {src_start} s"
        );
        assert!(
            (end - src_end).abs() < 0.1,
            "{ext}: audio ends at {end} s, source {src_end} s"
        );
        let (lead, src_lead) = (start - p.video_start, src_start - source.video_start);
        assert!(
            (lead - src_lead).abs() < 0.05,
            "{ext}: audio leads video by {lead} s, source {src_lead} s"
        );
        assert!(
            (p.duration - 2.0).abs() < 0.15,
            "{ext}: duration {}",
            p.duration
        );
        // Nobody in a test pattern: every frame passes with the flag off.
        assert_eq!(stats(&json)["frames_without_person"], 60, "{ext}");
    }
}

#[test]
fn skeleton_view_is_one_square_panel() {
    let Some(input) = util::data_file("real/driving/tfjs_pose_1.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mkv");
    let result = run(
        STREAM_BIN,
        &[
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--view",
            "skeleton",
            "--size",
            "256",
            "-q",
        ],
    );
    assert!(result.status.success(), "{}", util::stderr(&result));
    let p = probe(&out);
    assert_eq!((p.frames, p.width, p.height), (120, 256, 256));
    assert!((p.fps - 30.0).abs() < 1e-6);
}

#[test]
fn sigterm_stops_early_and_the_file_still_plays() {
    let Some(input) = util::data_file("real/driving/unianimate_source_video.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, json) = (dir.path().join("out.mp4"), dir.path().join("stats.json"));
    let child = std::process::Command::new(STREAM_BIN)
        .args([
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "-q",
            "--stats",
            json.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until encoding is under way (the muxer has written something), then SIGTERM.
    let started = Instant::now();
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < 2048 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "output never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(kill.unwrap().success());
    let result = child.wait_with_output().unwrap();
    assert!(result.status.success(), "{}", util::stderr(&result));
    let s = stats(&json);
    assert_eq!(s["interrupted"], true);
    let written = s["frames_out"].as_u64().unwrap();
    let p = probe(&out);
    println!(
        "stopped after {written} frames; ffprobe reads {} frames, {:.2} s",
        p.frames, p.duration
    );
    assert!(
        written > 0 && written < 150,
        "{written} frames: the stop came too late to test"
    );
    assert_eq!(
        p.frames, written,
        "every frame written is in the finished file"
    );
}
