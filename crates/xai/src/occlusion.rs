//! Occlusion: the drop of the target logit when a window is set to a baseline, as
//! Captum's `Occlusion`.

use crate::{Attribution, Explainer, Method, Result};

/// Settings of occlusion; the default: 16 x 16 windows, stride 8,
/// baseline 0, 32 windows per forward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occlusion {
    /// Window extent `[mels, frames]`.
    pub window: [usize; 2],
    /// Window stride `[mels, frames]`.
    pub stride: [usize; 2],
    /// Value the window is set to.
    pub baseline: f32,
    /// Occluded copies per forward pass.
    pub batch: usize,
}

impl Default for Occlusion {
    fn default() -> Self {
        Occlusion { window: [16, 16], stride: [8, 8], baseline: 0.0, batch: 32 }
    }
}

impl Explainer {
    /// Occlusion: for each window, the drop of the target logit when the window is set
    /// to the baseline, averaged over the windows that cover each cell (Captum's
    /// `Occlusion`).
    pub fn occlusion(&self, segment: &[f32], target: usize, settings: &Occlusion) -> Result<Attribution> {
        self.check(segment, target)?;
        let windows = window_grid([self.n_mels, self.n_frames], settings.window, settings.stride);
        let reference = self.logits(segment.to_vec(), 1)[0][target];
        let mut total = vec![0.0f32; segment.len()];
        let mut count = vec![0.0f32; segment.len()];
        for chunk in windows.chunks(settings.batch.max(1)) {
            let mut occluded = Vec::with_capacity(chunk.len() * segment.len());
            for window in chunk {
                let mut copy = segment.to_vec();
                for_each_cell(window, self.n_frames, |i| copy[i] = settings.baseline);
                occluded.extend(copy);
            }
            let logits = self.logits(occluded, chunk.len());
            for (window, row) in chunk.iter().zip(&logits) {
                let drop = reference - row[target];
                for_each_cell(window, self.n_frames, |i| {
                    total[i] += drop;
                    count[i] += 1.0;
                });
            }
        }
        let values = total.iter().zip(&count).map(|(t, c)| if *c > 0.0 { t / c } else { 0.0 }).collect();
        Ok(Attribution {
            method: Method::Occlusion,
            values,
            shape: self.segment_shape(),
            target,
            completeness_error: None,
        })
    }
}

/// A window: rows `[r0, r1)` and columns `[c0, c1)`.
type Window = (usize, usize, usize, usize);

/// Captum's window positions: starts at multiples of the stride, `ceil((D - w) / s) + 1`
/// per axis, the last clipped at the edge.
fn window_grid(shape: [usize; 2], window: [usize; 2], stride: [usize; 2]) -> Vec<Window> {
    let starts = |d: usize, w: usize, s: usize| -> Vec<usize> {
        let s = s.max(1);
        let n = if d > w { (d - w).div_ceil(s) + 1 } else { 1 };
        (0..n).map(|i| i * s).collect()
    };
    let mut out = Vec::new();
    for r in starts(shape[0], window[0], stride[0]) {
        for c in starts(shape[1], window[1], stride[1]) {
            out.push((r, (r + window[0]).min(shape[0]), c, (c + window[1]).min(shape[1])));
        }
    }
    out
}

fn for_each_cell(window: &Window, columns: usize, mut f: impl FnMut(usize)) {
    let &(r0, r1, c0, c1) = window;
    for r in r0..r1 {
        for c in c0..c1 {
            f(r * columns + c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captum_windows_cover_the_segment() {
        let windows = window_grid([128, 130], [16, 16], [8, 8]);
        assert_eq!(windows.len(), 15 * 16);
        assert_eq!(windows.last(), Some(&(112, 128, 120, 130)));
        let mut count = vec![0; 128 * 130];
        for w in &windows {
            for_each_cell(w, 130, |i| count[i] += 1);
        }
        assert!(count.iter().all(|&c| (1..=4).contains(&c)));
        assert_eq!(count[0], 1);
        assert_eq!(count[8 * 130 + 8], 4);
    }
}
