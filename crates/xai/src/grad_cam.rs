//! Grad-CAM: a feature map weighted by the spatial mean of its gradients, upsampled to
//! the segment, as Captum's `LayerGradCam` and PyTorch's `interpolate`.

use crate::{Attribution, Explainer, Method, Result, XaiError};

impl Explainer {
    /// Grad-CAM of the target logit (see [`genre_models::GenreModel::forward_for_cam`] for the map
    /// each architecture uses), upsampled bilinearly to the segment's shape as
    /// PyTorch's `interpolate(mode="bilinear", align_corners=False)` does.
    pub fn grad_cam(&self, segment: &[f32], target: usize) -> Result<Attribution> {
        self.check(segment, target)?;
        let x = self.batch(segment.to_vec(), 1).detach();
        let Some(cam) = self.model.forward_for_cam(x) else {
            return Err(XaiError::Unsupported("this model has no feature map for Grad-CAM".into()));
        };
        let [_, channels, rows, columns] = cam.map.dims();
        let picked = cam.logits.slice([0..1, target..target + 1]).sum();
        let grads = picked.backward();
        let activation: Vec<f32> = cam.map.clone().inner().into_data().iter::<f32>().collect();
        let gradient: Vec<f32> = cam
            .map
            .grad(&grads)
            .map(|g| g.into_data().iter::<f32>().collect())
            .unwrap_or_else(|| vec![0.0; channels * rows * columns]);
        let cells = rows * columns;
        let mut raw = vec![0.0f32; cells];
        for c in 0..channels {
            let weight = gradient[c * cells..(c + 1) * cells].iter().sum::<f32>() / cells as f32;
            for (r, a) in raw.iter_mut().zip(&activation[c * cells..(c + 1) * cells]) {
                *r += weight * a;
            }
        }
        for r in raw.iter_mut() {
            *r = r.max(0.0);
        }
        let [cover_rows, cover_columns] = cam.covers;
        let upsampled = bilinear(&raw, [rows, columns], [cover_rows, cover_columns]);
        let mut values = Vec::with_capacity(self.n_mels * self.n_frames);
        for r in 0..self.n_mels {
            values.extend_from_slice(&upsampled[r * cover_columns..r * cover_columns + self.n_frames]);
        }
        Ok(Attribution {
            method: Method::GradCam,
            values,
            shape: self.segment_shape(),
            target,
            completeness_error: None,
        })
    }
}

/// PyTorch's `interpolate(mode="bilinear", align_corners=False)` of a `[h, w]` grid to
/// `[out_h, out_w]`.
pub fn bilinear(values: &[f32], shape: [usize; 2], out: [usize; 2]) -> Vec<f32> {
    let axis = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        let scale = n_in as f32 / n_out as f32;
        (0..n_out)
            .map(|o| {
                let src = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (src.floor() as usize).min(n_in - 1);
                let i1 = (i0 + 1).min(n_in - 1);
                (i0, i1, src - i0 as f32)
            })
            .collect()
    };
    let (rows, columns) = (axis(shape[0], out[0]), axis(shape[1], out[1]));
    let at = |r: usize, c: usize| values[r * shape[1] + c];
    let mut result = Vec::with_capacity(out[0] * out[1]);
    for &(r0, r1, fr) in &rows {
        for &(c0, c1, fc) in &columns {
            let top = (1.0 - fc) * at(r0, c0) + fc * at(r0, c1);
            let bottom = (1.0 - fc) * at(r1, c0) + fc * at(r1, c1);
            result.push((1.0 - fr) * top + fr * bottom);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use genre_models::checkpoint::Checkpoint;

    use super::*;

    /// Grad-CAM reads the gradient of a map each architecture exposes as a leaf of the
    /// graph; a map that is not the leaf itself would have none, and the picture would
    /// be empty. (The CRNNs are checked against Captum in tests/.)
    #[test]
    fn grad_cam_finds_a_gradient_in_every_architecture() {
        let device = genre_models::DeviceKind::Cpu.device().unwrap();
        for arch in [genre_models::Architecture::Transformer, genre_models::Architecture::MusicnnMsd] {
            let config = arch.default_config(3);
            let features = arch.feature_config();
            let model = config.init(&device);
            let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
            let checkpoint = Checkpoint::new(&model, config, labels, features.clone());
            let explainer = Explainer::new(&checkpoint, &device).unwrap();
            let n = features.n_mels * features.n_frames();
            let segment: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            let cam = (0..3).map(|t| explainer.grad_cam(&segment, t).unwrap());
            let peak = cam.flat_map(|a| a.values).fold(0.0f32, f32::max);
            assert!(peak > 0.0, "{}: Grad-CAM is zero for every class", arch.name());
        }
    }

    #[test]
    fn bilinear_matches_pytorch_on_a_small_grid() {
        // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), (4, 4), mode="bilinear")
        let out = bilinear(&[0.0, 1.0, 2.0, 3.0], [2, 2], [4, 4]);
        let expected = [0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0];
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
    }
}
