//! Learning initializations and measuring them, end to end through the binary on the CPU:
//! synthetic people -> pretrain -> meta-train (and resume) -> eval's JSON and table, and
//! personalize from the result. Tiny sizes: this checks the wiring and the files, not the
//! quality (docs/RESULTS.md has the benchmark as run on a GPU).

use crate::util::{self, run, METAPIX_BIN};

/// Runs `metapix ARGS`, which must succeed; returns what it said on stderr.
fn ok(args: &[&str]) -> String {
    let out = run(METAPIX_BIN, args);
    assert!(out.status.success(), "{args:?}: {}", util::stderr(&out));
    util::stderr(&out)
}

/// `pretrain --init FILE --preset lite-fast`: a Posewarp lite checkpoint (a file, then the
/// built-in one by name) trained further in the fast shape, and a Pose2Im checkpoint refused
/// in it with one line naming a variable; the paper shape's default rate and mask bound.
fn grow_a_posewarp_init(d: &dyn Fn(&str) -> String, cpu: &[&str]) {
    let pretrain = |more: &[&str]| {
        let args = [
            "pretrain",
            &d("train"),
            "--arch",
            "posewarp",
            "--steps",
            "1",
        ];
        let size = ["--batch", "2", "--frames-per-identity", "6"];
        run(METAPIX_BIN, &[&args[..], &size, more, cpu].concat())
    };
    let lite = d("pw.safetensors");
    let out = pretrain(&["--out", &lite]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    // The paper's shape trains at its own default rate (lite's collapses it), its mask
    // corrections bounded.
    let paper = d("pw-paper.safetensors");
    let out = pretrain(&["--preset", "paper", "--out", &paper]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let rate = |log: &str| {
        let text = std::fs::read_to_string(d(log)).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        first["lr"].as_f64().unwrap()
    };
    assert_eq!(
        (rate("pw.log.jsonl"), rate("pw-paper.log.jsonl")),
        (2e-4, 1e-4)
    );
    let meta = metapix::model::checkpoint::read_meta(std::path::Path::new(&paper)).unwrap();
    let metapix::model::ArchConfig::Posewarp(config) = meta.arch else {
        panic!("{:?}", meta.arch)
    };
    assert_eq!(config.mask_bound, 3);
    // Posewarp cannot group, so its layer rates are learned from tasks run one by one.
    let rated = d("pw-rated.safetensors");
    ok(&[
        &["meta-train", &d("train"), "--init", &lite, "--learn-rates"][..],
        &[
            "--meta-iterations",
            "1",
            "--meta-batch",
            "2",
            "--shots",
            "3",
        ],
        &["--steps", "1", "--batch", "2", "--frames-per-identity", "6"],
        &["--query-frames", "2", "--rates-lr", "0.5", "--out", &rated],
        cpu,
    ]
    .concat());
    let learned = metapix::model::checkpoint::read_meta(std::path::Path::new(&rated))
        .unwrap()
        .inner_lr;
    assert!(
        learned.iter().any(|(_, &m)| (m - 1.0).abs() > 0.3),
        "{learned:?}"
    );
    let log = std::fs::read_to_string(d("pw-rated.log.jsonl")).unwrap();
    assert!(log.contains("\"query_l1\""), "{log}");
    let fast = d("pw-fast.safetensors");
    let fast_shape = || {
        let meta = metapix::model::checkpoint::read_meta(std::path::Path::new(&fast)).unwrap();
        let metapix::model::ArchConfig::Posewarp(config) = meta.arch else {
            panic!("{:?}", meta.arch)
        };
        (config.foreground_scale, config.refine_channels)
    };
    let out = pretrain(&["--init", &lite, "--preset", "lite-fast", "--out", &fast]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(fast_shape(), (2, 8));
    // A built-in init by its name, reshaped the same way.
    std::fs::remove_file(&fast).unwrap();
    let out = pretrain(&[
        "--init",
        "posewarp",
        "--preset",
        "lite-fast",
        "--out",
        &fast,
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(fast_shape(), (2, 8));
    let out = pretrain(&[
        "--init",
        &d("pre.safetensors"),
        "--preset",
        "lite",
        "--out",
        &d("x"),
    ]);
    let said = util::stderr(&out);
    assert!(!out.status.success() && said.contains("no place"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
}

#[test]
fn pretrain_meta_train_resume_eval_and_personalize() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let synth = |out: &str, n: &str, seed: &str| {
        let args = [
            "synth",
            "--out",
            out,
            "--prepared",
            "--identities",
            n,
            "--seconds",
            "2",
        ];
        let more = ["--fps", "10", "--size", "64x64", "--seed", seed, "-q"];
        ok(&[&args[..], &more[..]].concat());
    };
    synth(&d("train"), "3", "5");
    synth(&d("held"), "2", "9");
    let cpu = ["--device", "cpu", "-q"];
    let said = ok(&[
        &["pretrain", &d("train"), "--steps", "4", "--batch", "2"][..],
        &["--frames-per-identity", "6", "--out", &d("pre.safetensors")],
        &cpu,
    ]
    .concat());
    assert!(said.contains("3 people"), "{said}");
    // Its loss log: the 4 steps as one block.
    let log = std::fs::read_to_string(d("pre.log.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert_eq!(lines[0]["step"], 4, "{log}");
    assert!(lines[0]["l1"].as_f64().is_some_and(|l1| l1 > 0.0), "{log}");
    grow_a_posewarp_init(&d, &cpu);
    let (pre, meta_out) = (d("pre.safetensors"), d("meta.safetensors"));
    let train = d("train");
    let meta_train = |iterations: &str, resume: bool| {
        let mut args = vec![
            "meta-train",
            &train,
            "--init",
            &pre,
            "--meta-iterations",
            iterations,
        ];
        args.extend([
            "--meta-batch",
            "2",
            "--shots",
            "3",
            "--steps",
            "2",
            "--batch",
            "2",
        ]);
        args.extend(["--out", &meta_out]);
        if resume {
            args.push("--resume");
        }
        ok(&[&args[..], &cpu].concat())
    };
    meta_train("2", false);
    let said = meta_train("3", true);
    assert!(said.contains("after 3 meta-iterations"), "{said}");
    // One log line per meta-iteration, the resumed one included.
    let log = std::fs::read_to_string(d("meta.log.jsonl")).unwrap();
    let iterations: Vec<u64> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["iteration"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(iterations, vec![1, 2, 3]);
    let meta = metapix::model::checkpoint::read_meta(std::path::Path::new(&d("meta.safetensors")))
        .unwrap();
    assert_eq!(meta.training["iteration"], 3);
    assert!(
        meta.discriminator.is_some(),
        "Reptile's discriminator is kept"
    );

    let meta_init = format!("meta={meta_out}");
    ok(&[
        &[
            "eval",
            &d("held"),
            "--init",
            &meta_init,
            "--init",
            "scratch=random",
        ][..],
        &[
            "--shots",
            "3",
            "--steps",
            "0,2",
            "--batch",
            "2",
            "--out",
            &d("r.json"),
        ],
        &cpu,
    ]
    .concat());
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d("r.json")).unwrap()).unwrap();
    // 2 people x 2 inits x 1 K x 2 T, each with its figures.
    assert_eq!(records.as_array().unwrap().len(), 8);
    for r in records.as_array().unwrap() {
        let psnr = r["psnr"].as_f64().unwrap();
        let ssim = r["ssim"].as_f64().unwrap();
        assert!(
            psnr.is_finite() && psnr > 0.0 && (-1.0..=1.0).contains(&ssim),
            "{r}"
        );
    }
    let table = std::fs::read_to_string(d("r.md")).unwrap();
    assert!(
        table.contains("| 3 | 2 |") && table.contains("meta wins vs scratch"),
        "{table}"
    );

    // The meta-learned checkpoint is an init users can personalize from.
    let target = format!("{}/identity-000", d("held"));
    let said = ok(&[
        &[
            "personalize",
            &target,
            "--init",
            &d("meta.safetensors"),
            "--shots",
            "3",
        ][..],
        &[
            "--steps",
            "2",
            "--batch",
            "2",
            "--out",
            &d("me.safetensors"),
        ],
        &cpu,
    ]
    .concat());
    assert!(said.contains("held-out"), "{said}");

    // Layer rates meta-learned beside the weights travel in the checkpoint, and
    // personalization from it steps with them.
    let rated = d("rated.safetensors");
    ok(&[
        &["meta-train", &train, "--init", &meta_out][..],
        &[
            "--meta-iterations",
            "3",
            "--meta-batch",
            "2",
            "--shots",
            "3",
        ],
        &[
            "--steps",
            "2",
            "--batch",
            "2",
            "--learn-rates",
            "--rates-lr",
            "0.5",
        ],
        &["--query-frames", "2", "--out", &rated],
        &cpu,
    ]
    .concat());
    let learned = metapix::model::checkpoint::read_meta(std::path::Path::new(&rated))
        .unwrap()
        .inner_lr;
    let rates: Vec<f64> = learned.iter().map(|(_, &m)| m).collect();
    assert!(
        rates.len() > 10 && rates.iter().any(|&m| (m - 1.0).abs() > 0.3),
        "{learned:?}"
    );
    let log = std::fs::read_to_string(d("rated.log.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert!(last["query_l1"].as_f64().unwrap() > 0.0, "{last}");
    let personalized = d("rated-me.safetensors");
    ok(&[
        &["personalize", &target, "--init", &rated, "--shots", "3"][..],
        &["--steps", "2", "--batch", "2", "--out", &personalized],
        &cpu,
    ]
    .concat());
    let meta = metapix::model::checkpoint::read_meta(std::path::Path::new(&personalized)).unwrap();
    assert_eq!(
        meta.training["layer_rates"],
        serde_json::to_value(&learned).unwrap()
    );
}

/// `eval --pck` with the real pose model: the default avatar, driven by a synthetic dancer's
/// exact skeletons, strikes their poses; random weights draw no one. The T sweep is plotted.
#[test]
fn eval_scores_pose_fidelity_with_the_pose_model_and_plots_the_t_curve() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    ok(&[
        "synth",
        "--out",
        &d("held"),
        "--prepared",
        "--identities",
        "1",
        "--seconds",
        "4",
        "--fps",
        "10",
        "--size",
        "256x256",
        "--seed",
        "3",
        "-q",
    ]);
    ok(&[
        "eval",
        &d("held"),
        "--init",
        "avatar=avatar",
        "--init",
        "scratch=random",
        "--init",
        "copy=nearest-shot",
        "--init",
        "warp=part-warp",
        "--save-frames",
        &d("frames"),
        "--shots",
        "1",
        "--steps",
        "0,1",
        "--batch",
        "1",
        "--pck",
        "--device",
        "cpu",
        "-q",
        "--out",
        &d("r.json"),
    ]);
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(d("r.json")).unwrap()).unwrap();
    assert_eq!(records.len(), 8, "1 person x 4 methods x 2 T");
    let pck = |init: &str, t: u64| {
        let r = records
            .iter()
            .find(|r| r["init"] == init && r["t"] == t)
            .unwrap();
        r["pck"].as_f64().unwrap_or_else(|| panic!("no PCK in {r}"))
    };
    assert!(
        pck("avatar", 0) > 0.6,
        "avatar PCK@0.1 {}",
        pck("avatar", 0)
    );
    assert!(
        pck("scratch", 0) < 0.2,
        "random weights PCK@0.1 {}",
        pck("scratch", 0)
    );
    // Copying the one shot is the same whatever T, shows a real person (the pose model
    // finds one), and its person-region figures are worse than over the frame, where the
    // room is copied exactly.
    let copy: Vec<&serde_json::Value> = records.iter().filter(|r| r["init"] == "copy").collect();
    assert_eq!(copy[0]["psnr"], copy[1]["psnr"]);
    assert!(pck("copy", 0) > 0.0, "copy PCK@0.1 {}", pck("copy", 0));
    for r in &records {
        let (full, person) = (
            r["psnr"].as_f64().unwrap(),
            r["psnr_person"].as_f64().unwrap(),
        );
        assert!(
            person.is_finite() && r["ssim_person"].as_f64().is_some(),
            "{r}"
        );
        if r["init"] == "copy" {
            assert!(person < full, "{r}");
        }
    }
    let table = std::fs::read_to_string(d("r.md")).unwrap();
    assert!(table.contains("avatar PCK@0.1"), "{table}");
    assert!(table.contains("copy person SSIM"), "{table}");
    // Each cell's frames side by side, and the person's real ones, to look at.
    let strip = |name: &str| metapix::RgbImage::open(&dir.path().join("frames").join(name));
    let warp = strip("identity-000_warp_k1_t1.png").expect("the part warp's frames");
    let real = strip("identity-000_real.png").expect("the real frames");
    assert_eq!((warp.width, warp.height), (real.width, real.height));
    assert!(warp.height == 256 && warp.width % 256 == 0 && warp.width > 256);
    // T takes two values, K one: the T curve is drawn, the K curve is not.
    assert!(dir.path().join("r-t.png").is_file());
    assert!(!dir.path().join("r-k.png").exists());
}
