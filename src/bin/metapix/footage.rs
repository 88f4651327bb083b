//! The commands that turn footage into data: skeletons of a video, a prepared target, and
//! synthetic people.

use std::path::PathBuf;

use metapix::jobs::pose::PoseJob;
use metapix::jobs::prepare::PrepareJob;
use metapix::jobs::synth::SynthJob;

use crate::cli;

/// `metapix pose`.
#[derive(clap::Args, Debug)]
pub struct PoseArgs {
    /// A video file, or a .png/.jpg image.
    input: String,
    /// The JSON-lines file to write.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    pose: cli::PoseArgs,
}

impl PoseArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let job = PoseJob::new(&self.input, &self.out, self.pose.config()?)?;
        let stop = cli::stop_on_signal()?;
        let summary = job.run(stop, &mut cli::progress("metapix pose", "frames", quiet))?;
        eprintln!(
            "wrote {} ({} frames, a person in {})",
            self.out.display(),
            summary.frames,
            summary.frames_with_person
        );
        Ok(())
    }
}

/// `metapix prepare`.
#[derive(clap::Args, Debug)]
pub struct PrepareArgs {
    /// A video file, a folder of .png/.jpg images, or one image.
    target: PathBuf,
    /// Folder to write (frames/, poses.jsonl, target.json).
    #[arg(long)]
    out: PathBuf,
    /// Side of the square frames: a multiple of 16, which every generator takes.
    #[arg(long, default_value_t = 256)]
    size: u32,
    #[command(flatten)]
    pose: cli::PoseArgs,
}

impl PrepareArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let job = PrepareJob::new(&self.target, &self.out, self.size, self.pose.config()?)?;
        let stop = cli::stop_on_signal()?;
        let info = job.run(stop, &mut cli::progress("metapix prepare", "frames", quiet))?;
        eprintln!(
            "prepared {}: {} frames ({} with the person) at {}x{}",
            self.out.display(),
            info.frames,
            info.frames_with_person,
            info.size,
            info.size
        );
        Ok(())
    }
}

/// `metapix synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Folder to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// How many people.
    #[arg(long, default_value_t = 1)]
    identities: u32,
    /// Length of each dance.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Dances each person performs one after the other.
    #[arg(long, default_value_t = 1)]
    dances: u32,
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Frame size, WIDTHxHEIGHT.
    #[arg(long, default_value = "512x512", value_parser = parse_size)]
    size: (u32, u32),
    /// Seed of the people and their dances; 0 starts with the demo's dancer.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write prepared targets (identity-NNN/, as metapix prepare writes, with the exact
    /// skeletons) instead of videos; square frames of the smaller side of --size.
    #[arg(long)]
    prepared: bool,
}

impl SynthArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let job = SynthJob::new(
            &self.out,
            self.identities,
            self.seconds,
            self.fps,
            self.size,
            self.seed,
        )?
        .with_dances(self.dances)?
        .prepared(self.prepared)?;
        let stop = cli::stop_on_signal()?;
        let written = job.run(stop, &mut cli::progress("metapix synth", "frames", quiet))?;
        for path in written {
            let what = if self.prepared {
                ""
            } else {
                " and its skeletons"
            };
            eprintln!("wrote {}{what}", path.display());
        }
        Ok(())
    }
}

/// Parses `WIDTHxHEIGHT`.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text}: expected WIDTHxHEIGHT, e.g. 512x512"))?;
    let side = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("{text}: expected WIDTHxHEIGHT"))
    };
    Ok((side(w)?, side(h)?))
}
