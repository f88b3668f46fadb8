//! Choosing where the model runs. Libraries take a `&Device`; only the runner maps a
//! `--device` option to one.

use std::str::FromStr;

use burn::prelude::Device;

use crate::error::{ModelError, Result};

/// A device family, as named on the command line.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// Burn's pure-Rust `flex` CPU backend (feature `flex`, the default).
    #[default]
    #[cfg_attr(feature = "clap", value(alias = "flex"))]
    Cpu,
    /// The default GPU through wgpu (feature `wgpu`).
    #[cfg_attr(feature = "clap", value(alias = "gpu"))]
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
    /// `cpu`, `wgpu` or `cuda`, as `--device` takes it.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// The device, or an error naming the cargo feature it needs or the driver that is
    /// missing. A GPU device is tried with one small tensor first: Burn's backends panic
    /// at the first operation when no adapter exists, and that must not happen later,
    /// halfway through a run.
    pub fn device(self) -> Result<Device> {
        #[allow(unused_variables)]
        let device = match self {
            #[cfg(feature = "flex")]
            DeviceKind::Cpu => return Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => Device::cuda(0),
            #[allow(unreachable_patterns)]
            other => {
                return Err(ModelError::Device(format!(
                    "--device {0}: this build has no {0} backend; build it with the cargo feature `{0}` \
                     (e.g. `cargo install --path crates/cli --features {0}`)",
                    other.name()
                )));
            }
        };
        #[allow(unreachable_code)]
        self.probe(device)
    }

    /// `device` if one small tensor survives a round trip through it.
    #[allow(dead_code)]
    fn probe(self, device: Device) -> Result<Device> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let probed = device.clone();
        let works = std::panic::catch_unwind(move || {
            burn::tensor::Tensor::<1>::ones([4], &probed).sum().into_scalar::<f32>() == 4.0
        });
        std::panic::set_hook(hook);
        match works {
            Ok(true) => Ok(device),
            _ => Err(ModelError::Device(match self {
                DeviceKind::Wgpu => "--device wgpu: no GPU adapter found; install a Vulkan, Metal or DX12 driver \
                                     (on Debian, Mesa's CPU-emulated Vulkan: `apt-get install mesa-vulkan-drivers`)"
                    .into(),
                _ => format!("--device {}: no usable device found (is the NVIDIA driver installed?)", self.name()),
            })),
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
