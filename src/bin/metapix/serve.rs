//! `metapix serve CONFIG`: many streams, one process.

use std::path::PathBuf;

use anyhow::bail;
use metapix::jobs::serve::ServeConfig;

use crate::cli;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The streams, in TOML: one [[stream]] table each, with a name, an input and an output
    /// (as metapix-stream takes them) and, if wanted, model, view, size, device,
    /// max_latency_ms, reconnect, stats and verbose; a [defaults] table sets any of these for
    /// all.
    config: PathBuf,
    #[command(flatten)]
    pose: cli::PoseArgs,
}

impl ServeArgs {
    /// Runs every stream until each ends, fails or is stopped (Ctrl-C stops them all);
    /// fails, naming them, if any stream failed.
    pub fn run(&self) -> anyhow::Result<()> {
        let job = ServeConfig::read(&self.config)?.validate(&self.pose.config()?)?;
        let stop = cli::stop_on_signal()?;
        let outcomes = job.run(stop);
        let failed: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.result.is_err())
            .map(|o| o.name.as_str())
            .collect();
        if !failed.is_empty() {
            bail!(
                "{} of {} streams failed: {}",
                failed.len(),
                outcomes.len(),
                failed.join(", ")
            );
        }
        Ok(())
    }
}
