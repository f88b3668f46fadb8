//! Choosing where the model runs. Libraries take a `&Device`; only the runner maps a
//! `--device` option to one.

use std::str::FromStr;

use burn::prelude::Device;

use crate::error::{ModelError, Result};

/// A device family, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// Burn's pure-Rust `flex` CPU backend (feature `flex`, the default).
    #[default]
    Cpu,
    /// The default GPU through wgpu (feature `wgpu`).
    Wgpu,
    /// The first NVIDIA GPU (feature `cuda`).
    Cuda,
}

impl FromStr for DeviceKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(DeviceKind::Cpu),
            "wgpu" | "gpu" => Ok(DeviceKind::Wgpu),
            "cuda" => Ok(DeviceKind::Cuda),
            other => Err(format!("unknown device {other:?} (cpu, wgpu, cuda)")),
        }
    }
}

impl DeviceKind {
    /// The device, or an error naming the cargo feature it needs.
    pub fn device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "flex")]
            DeviceKind::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(ModelError::Device(other.describe().into())),
        }
    }

    /// What to print as "the device that ran".
    pub fn describe(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu (burn flex)",
            DeviceKind::Wgpu => "gpu (burn wgpu)",
            DeviceKind::Cuda => "cuda:0 (burn cuda)",
        }
    }
}
