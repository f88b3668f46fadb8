//! A training run's state on disk, so that a killed run resumes where it stopped.

use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::arch::{GenreModel, ModelConfig};
use crate::error::{ModelError, Result};

use super::{EpochMetrics, Plateau};

/// Progress that `--resume` needs besides the tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SavedProgress {
    pub(super) next_epoch: usize,
    pub(super) history: Vec<EpochMetrics>,
    pub(super) best_accuracy: f64,
    pub(super) best_epoch: usize,
    /// The learning rate for the next epoch (the schedule may have lowered it).
    #[serde(default)]
    pub(super) lr: Option<f64>,
    #[serde(default)]
    pub(super) plateau: Option<Plateau>,
}

/// A resumable training state on disk: `<dir>/epoch-NNNN/` holds the model (Burn's own
/// record, which keeps the parameter ids the optimiser state refers to), the optimiser
/// record, the best weights and the progress; `<dir>/latest` names the last complete one.
pub(super) struct ResumeState {
    pub(super) model: GenreModel,
    pub(super) optimizer: burn::optim::record::OptimizerRecord,
    pub(super) best_weights: crate::StateDict,
    pub(super) state: SavedProgress,
}

impl ResumeState {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn save(
        dir: &Path,
        config: &ModelConfig,
        device: &Device,
        model: &GenreModel,
        optim: &burn::optim::ModuleOptimizer,
        state: &SavedProgress,
        best: &crate::StateDict,
    ) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| ModelError::Io { path: path.clone(), source: e }
        };
        let record_error = |path: &Path| {
            let path = path.to_path_buf();
            move |e: burn::store::RecordError| ModelError::Io {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            }
        };
        let epoch_dir = dir.join(format!("epoch-{:04}", state.next_epoch - 1));
        let _ = std::fs::remove_dir_all(&epoch_dir);
        std::fs::create_dir_all(&epoch_dir).map_err(io(&epoch_dir))?;
        let _ = model.valid(); // folds pending BatchNorm statistics into the record
        model.clone().save_file(epoch_dir.join("model.bpk")).map_err(record_error(&epoch_dir))?;
        optim.to_record().save(epoch_dir.join("optimizer.bin")).map_err(record_error(&epoch_dir))?;
        let json = serde_json::to_vec(state).map_err(|e| io(&epoch_dir)(std::io::Error::other(e)))?;
        std::fs::write(epoch_dir.join("progress.json"), json).map_err(io(&epoch_dir))?;
        config.load(best, device)?.save_file(epoch_dir.join("best.bpk")).map_err(record_error(&epoch_dir))?;
        // The commit point: `latest` names the new folder only once it is complete.
        let latest = dir.join("latest");
        let name = epoch_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        crate::atomic::write(&latest, name.as_bytes()).map_err(io(&latest))?;
        // Older states are no longer needed.
        for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let path = entry.path();
            let old = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("epoch-"));
            if old && path != epoch_dir {
                let _ = std::fs::remove_dir_all(path);
            }
        }
        Ok(())
    }

    pub(super) fn load(dir: &Path, config: &ModelConfig, autodiff: &Device, device: &Device) -> Result<Option<Self>> {
        let Ok(name) = std::fs::read_to_string(dir.join("latest")) else { return Ok(None) };
        let epoch_dir = dir.join(name.trim());
        let broken = |reason: String| ModelError::Checkpoint { path: epoch_dir.clone(), reason };
        let model = config
            .init(autodiff)
            .try_load_file(epoch_dir.join("model.bpk"))
            .map_err(|e| broken(format!("training state: {e}")))?;
        let optimizer = burn::optim::record::OptimizerRecord::load(epoch_dir.join("optimizer.bin"))
            .map_err(|e| broken(format!("optimizer state: {e}")))?;
        let progress = std::fs::read(epoch_dir.join("progress.json")).map_err(|e| broken(e.to_string()))?;
        let state: SavedProgress = serde_json::from_slice(&progress).map_err(|e| broken(e.to_string()))?;
        let best = config
            .init(device)
            .try_load_file(epoch_dir.join("best.bpk"))
            .map_err(|e| broken(format!("best weights: {e}")))?;
        Ok(Some(ResumeState { model, optimizer, best_weights: best.state_dict(), state }))
    }
}
