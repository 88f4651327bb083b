//! `metapix serve CONFIG`: two live streams in one process on two paths of one RTSP port,
//! read by real clients; one stream failing while the other goes on; Ctrl-C finishing both;
//! two avatar streams generating in one batch; configuration errors naming the stream and
//! the field.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::errors::fails_with;
use crate::live::{
    ended_by_itself, free_port, read, served_at, start_client, wait_for_line, wait_for_server,
    Received,
};
use crate::util::{self, interrupt, wait, METAPIX_BIN};

/// Starts `metapix serve` on `config` (written to `dir/serve.toml`), its stderr in `log`.
fn start_serve(dir: &Path, config: &str, log: &Path) -> Child {
    let path = dir.join("serve.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(METAPIX_BIN)
        .args(["serve", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("metapix serve starts")
}

/// Checks one client of a stream that was stopped: it ended on the end of the stream and
/// got most frames served (not those before its first key frame, which takes a while on a
/// loaded machine with two clients starting at once), in order.
fn check_client(name: &str, client: &mut Child, got: &Received, log: &Path, served: u64) {
    let status = wait(client, Duration::from_secs(15), name);
    let client_log = read(log);
    assert!(
        ended_by_itself(status, &client_log),
        "{name}: {status}: {client_log}"
    );
    println!("{name}: served {served}, the client decoded {}", got.frames);
    assert!(
        got.frames as f64 >= 0.75 * served as f64,
        "{name}: {} of {served} frames",
        got.frames
    );
    assert!(got.counters.len() as f64 >= 0.9 * got.frames as f64);
    assert!(got.counters.windows(2).all(|w| w[0] < w[1]), "{name}");
}

fn stats(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn two_streams_on_two_paths_of_one_port_and_ctrl_c_finishes_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let port = free_port();
    let url = |path: &str| format!("rtsp://127.0.0.1:{port}/{path}");
    let config = format!(
        "[defaults]\nview = \"skeleton\"\nsize = 256\nverbose = true\n\n\
         [[stream]]\nname = \"alice\"\ninput = \"testsrc\"\noutput = \"{}\"\nstats = \"{}\"\n\n\
         [[stream]]\nname = \"bob\"\ninput = \"testsrc:320x240@15\"\noutput = \"{}\"\nstats = \"{}\"\n",
        url("alice"),
        d("alice.json").display(),
        url("bob"),
        d("bob.json").display()
    );
    let log = d("serve.log");
    let mut serve = start_serve(dir.path(), &config, &log);
    wait_for_server(port, &mut serve, &log);
    // The port opens with the first path: wait for both.
    for path in ["alice", "bob"] {
        wait_for_line(&log, &format!("serving {}", url(path)), "not served");
    }
    let (mut alice, alice_frames) = start_client(&url("alice"), &d("alice.log"));
    let (mut bob, bob_frames) = start_client(&url("bob"), &d("bob.log"));
    std::thread::sleep(Duration::from_secs(5));
    interrupt(&serve);
    let status = wait(&mut serve, Duration::from_secs(40), "metapix serve");
    let said = read(&log);
    assert!(status.success(), "metapix serve: {status}: {said}");
    let (alice_got, bob_got) = (alice_frames.join().unwrap(), bob_frames.join().unwrap());
    let (alice_sent, bob_sent) = (
        served_at(&said, &url("alice")),
        served_at(&said, &url("bob")),
    );
    check_client("alice", &mut alice, &alice_got, &d("alice.log"), alice_sent);
    check_client("bob", &mut bob, &bob_got, &d("bob.log"), bob_sent);
    assert!(alice_sent >= 20 && bob_sent >= 20, "{said}");
    // verbose: each stream's once-a-second line, under its name.
    for name in ["alice", "bob"] {
        let lines = said
            .lines()
            .filter(|l| l.starts_with(&format!("{name}: in ")));
        assert!(lines.count() >= 2, "no meter lines for {name}: {said}");
    }
    // Each stream kept its own statistics, and its own camera's pace: 30 frames a second
    // captured against 15, however many the machine could render.
    let captured = |name: &str| {
        let s = stats(&d(name));
        let (frames_in, out) = (s["frames_in"].as_u64(), s["frames_out"].as_u64());
        assert_eq!(
            frames_in.unwrap(),
            out.unwrap() + s["frames_dropped"].as_u64().unwrap()
        );
        assert_eq!(s["interrupted"], true, "{name}: {s}");
        frames_in.unwrap()
    };
    let (alice_in, bob_in) = (captured("alice.json"), captured("bob.json"));
    assert!(
        alice_in as f64 > 1.5 * bob_in as f64,
        "captured {alice_in} at 30 fps against {bob_in} at 15"
    );
}

#[test]
fn a_stream_that_fails_leaves_the_other_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let cut = util::make_cut_clip(dir.path());
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/live");
    let config = format!(
        "[defaults]\nview = \"skeleton\"\nsize = 256\n\n\
         [[stream]]\nname = \"live\"\ninput = \"testsrc\"\noutput = \"{url}\"\n\n\
         [[stream]]\nname = \"broken\"\ninput = \"{}\"\noutput = \"null\"\n",
        cut.display()
    );
    let log = d("serve.log");
    let mut serve = start_serve(dir.path(), &config, &log);
    wait_for_server(port, &mut serve, &log);
    let (mut client, frames) = start_client(&url, &d("client.log"));
    wait_for_line(&log, "stream broken failed", "broken did not fail");
    let failed_at = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    interrupt(&serve);
    let status = wait(&mut serve, Duration::from_secs(40), "metapix serve");
    let said = read(&log);
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("looks truncated"), "{said}");
    assert!(said.contains("1 of 2 streams failed: broken"), "{said}");
    let got = frames.join().unwrap();
    check_client(
        "live",
        &mut client,
        &got,
        &d("client.log"),
        served_at(&said, &url),
    );
    // The live stream went on after the other failed: 4 s at up to 30 fps, with room for a
    // loaded machine and for a client that only started then.
    let after = got.arrivals.iter().filter(|t| **t > failed_at).count();
    assert!(after >= 30, "{after} frames after the failure: {said}");
}

#[test]
fn two_avatar_streams_generate_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let stream = |name: &str| {
        format!(
            "[[stream]]\nname = \"{name}\"\ninput = \"testsrc\"\noutput = \"null\"\nstats = \"{}\"\n",
            d(&format!("{name}.json")).display()
        )
    };
    let config = "batch_ms = 20\n[defaults]\nview = \"gen\"\nsize = 256\ndevice = \"cpu\"\n"
        .to_string()
        + &stream("alice")
        + &stream("bob");
    let log = d("serve.log");
    let mut serve = start_serve(dir.path(), &config, &log);
    wait_for_line(&log, "batching streams alice, bob", "no batch");
    std::thread::sleep(Duration::from_secs(8));
    interrupt(&serve);
    let status = wait(&mut serve, Duration::from_secs(40), "metapix serve");
    let said = read(&log);
    assert!(status.success(), "metapix serve: {status}: {said}");
    // Both streams' frames were generated, by the batch's one grouped model.
    for name in ["alice", "bob"] {
        let s = stats(&d(&format!("{name}.json")));
        let generated = s["stages"]["generate"]["count"].as_u64().unwrap();
        assert!(generated >= 5, "{name}: {generated} frames generated: {s}");
        assert_eq!(s["interrupted"], true, "{name}: {s}");
    }
}

#[test]
fn serve_config_errors_name_the_stream_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let check = |config: &str, expect: &str| {
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, config).unwrap();
        fails_with(METAPIX_BIN, &["serve", path.to_str().unwrap()], expect);
    };
    let stream = |name: &str, more: &str| {
        format!("[[stream]]\nname = \"{name}\"\ninput = \"testsrc\"\n{more}\n")
    };
    let null = |more: &str| stream("a", &format!("output = \"null\"\n{more}"));
    let cases = [
        (stream("a", ""), "stream a: output: missing"),
        (null("size = 7"), "stream a: size:"),
        (
            null("model = \"nobody.safetensors\""),
            "stream a: model: model not found: nobody.safetensors",
        ),
        (
            null("reconnect = 5"),
            "stream a: reconnect: --reconnect applies to cameras",
        ),
        (
            stream("a", "output = \"out.mp4\"") + &stream("b", "output = \"out.mp4\""),
            "stream b: output: out.mp4 is stream a's output too",
        ),
        (null("") + &null(""), "stream a: name: used twice"),
        // Syntax and unknown fields: the file's line.
        (
            null("modle = \"me.safetensors\""),
            "serve.toml:5: unknown field `modle`",
        ),
        (
            null("view = \"sideways\""),
            "serve.toml:5: unknown variant `sideways`",
        ),
        (String::new(), "no streams"),
        (
            "batch_ms = 100\n".to_string() + &null(""),
            "batch_ms: 100 ms is more than a frame at 30 fps",
        ),
    ];
    for (config, expect) in &cases {
        check(config, expect);
    }
    fails_with(
        METAPIX_BIN,
        &["serve", "/nonexistent/serve.toml"],
        "cannot read /nonexistent/serve.toml",
    );
}
