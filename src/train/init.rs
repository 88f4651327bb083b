//! Where training starts: a checkpoint (built in or a file) or random weights of an
//! architecture, built into the models personalization and Reptile train.

use std::path::PathBuf;

use tch::nn::VarStore;
use tch::Device;

use super::personalize::Trainee;
use crate::model::checkpoint::{self, CheckpointError, Loaded};
use crate::model::rates::LayerRates;
use crate::model::{
    ArchConfig, Builtin, Generator, PatchGan, DEFAULT_AVATAR, METAPIX_INIT, POSEWARP_FAST_INIT,
    POSEWARP_INIT,
};

/// Where personalization starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// A checkpoint shipped in the binaries: the meta-learned init or the default avatar.
    Builtin(Builtin),
    /// A checkpoint file.
    Checkpoint(PathBuf),
    /// Random weights of an architecture, drawn from the seed given to [`Init::build`].
    Random(ArchConfig),
    /// A checkpoint's weights (a file, or one built in) in another shape of its
    /// architecture: each of its variables goes where the shape has one of that name and
    /// size, and the shape's others start fresh (a new layer's head at zero). How an init
    /// grows a layer without starting over.
    Reshaped(Stored, ArchConfig),
}

/// A checkpoint that is stored: a file, or one built into the binaries.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    File(PathBuf),
    Builtin(Builtin),
}

impl Stored {
    fn load(&self, device: Device) -> Result<Loaded, CheckpointError> {
        match self {
            Stored::File(path) => checkpoint::load(path, device),
            Stored::Builtin(builtin) => builtin.load(device),
        }
    }
}

impl From<Stored> for Init {
    fn from(stored: Stored) -> Init {
        match stored {
            Stored::File(path) => Init::Checkpoint(path),
            Stored::Builtin(builtin) => Init::Builtin(builtin),
        }
    }
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stored::File(path) => write!(f, "{}", path.display()),
            Stored::Builtin(b) => f.write_str(b.name),
        }
    }
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Init::Builtin(b) => f.write_str(b.name),
            Init::Checkpoint(path) => write!(f, "{}", path.display()),
            Init::Random(arch) => write!(f, "random {}", arch.name()),
            Init::Reshaped(stored, _) => write!(f, "{stored} reshaped"),
        }
    }
}

/// A generator and discriminator ready to train, and what they started from.
pub struct Models {
    pub gen_vs: VarStore,
    pub generator: Generator,
    pub disc_vs: VarStore,
    pub discriminator: PatchGan,
    /// The init's per-layer learning-rate multipliers (uniform unless meta-learned).
    pub rates: LayerRates,
    pub init_name: String,
}

impl Init {
    /// The init a user names: `metapix` (the built-in meta-learned Pose2Im init), `posewarp`
    /// (the built-in Posewarp init), `avatar` (the default avatar), `random` (random weights
    /// of `random`), or a checkpoint file.
    pub fn named(name: &str, random: ArchConfig) -> Init {
        match name {
            "metapix" => Init::Builtin(METAPIX_INIT),
            "avatar" => Init::Builtin(DEFAULT_AVATAR),
            "posewarp" => Init::Builtin(POSEWARP_INIT),
            "posewarp-fast" => Init::Builtin(POSEWARP_FAST_INIT),
            "random" => Init::Random(random),
            path => Init::Checkpoint(path.into()),
        }
    }

    /// Builds the models on `device`: the generator from the init, the discriminator from
    /// the init when it carries one (meta-learned inits do), else fresh weights sized for
    /// the generator. Random weights come from the torch generator seeded with `seed`, so a
    /// seed names the same network on every run.
    pub fn build(&self, device: Device, seed: u64) -> Result<Models, CheckpointError> {
        tch::manual_seed(seed as i64);
        let (gen_vs, generator, stored, rates) = match self {
            Init::Checkpoint(path) => parts(checkpoint::load(path, device)?),
            Init::Builtin(builtin) => parts(builtin.load(device)?),
            Init::Random(arch) => {
                let vs = VarStore::new(device);
                let generator = Generator::new(&vs.root(), arch);
                (vs, generator, None, LayerRates::default())
            }
            Init::Reshaped(stored, arch) => {
                let loaded = stored.load(device)?;
                let vs = VarStore::new(device);
                let generator = Generator::new(&vs.root(), arch);
                copy_into(&loaded.gen_vs, &vs).map_err(|reason| CheckpointError::Mismatch {
                    path: stored.to_string().into(),
                    reason,
                })?;
                (vs, generator, loaded.discriminator, loaded.meta.inner_lr)
            }
        };
        let arch = generator.arch();
        let (disc_vs, discriminator) = stored.unwrap_or_else(|| {
            let vs = VarStore::new(device);
            let model = PatchGan::new(&vs.root(), arch.discriminator());
            (vs, model)
        });
        Ok(Models {
            gen_vs,
            generator,
            disc_vs,
            discriminator,
            rates,
            init_name: self.to_string(),
        })
    }
}

/// Every variable of `from` into the variable of `to` with its name, which must have its size.
fn copy_into(from: &VarStore, to: &VarStore) -> Result<(), String> {
    let mut places = to.variables();
    tch::no_grad(|| {
        for (name, value) in from.variables() {
            let place = places
                .get_mut(&name)
                .ok_or_else(|| format!("{name} has no place in the new shape"))?;
            if place.size() != value.size() {
                return Err(format!(
                    "{name} is {:?} in the file, {:?} in the new shape",
                    value.size(),
                    place.size()
                ));
            }
            place.copy_(&value);
        }
        Ok(())
    })
}

/// A loaded checkpoint's generator, discriminator and layer rates.
fn parts(
    l: Loaded,
) -> (
    VarStore,
    Generator,
    Option<(VarStore, PatchGan)>,
    LayerRates,
) {
    (l.gen_vs, l.generator, l.discriminator, l.meta.inner_lr)
}

impl Models {
    /// What personalization trains: the generator, and the discriminator with it.
    pub fn trainee(&self) -> Trainee<'_> {
        Trainee {
            generator: &self.generator,
            gen_vs: &self.gen_vs,
            discriminator: Some((&self.discriminator, &self.disc_vs)),
        }
    }

    /// A second set of the same architectures, weights copied: each benchmark cell trains
    /// its own copy of one init.
    pub fn copy(&self) -> Result<Models, tch::TchError> {
        let mut copy = self.blank();
        copy.gen_vs.copy(&self.gen_vs)?;
        copy.disc_vs.copy(&self.disc_vs)?;
        Ok(copy)
    }

    /// A second set of the same architectures on the same device, weights not copied (the
    /// scratch models Reptile personalizes each task in).
    pub fn blank(&self) -> Models {
        let device = self.gen_vs.device();
        let gen_vs = VarStore::new(device);
        let generator = Generator::new(&gen_vs.root(), &self.generator.arch());
        let disc_vs = VarStore::new(device);
        let discriminator = PatchGan::new(&disc_vs.root(), self.discriminator.config);
        Models {
            gen_vs,
            generator,
            disc_vs,
            discriminator,
            rates: self.rates.clone(),
            init_name: self.init_name.clone(),
        }
    }
}
