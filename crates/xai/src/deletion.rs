//! Deletion curves: how fast the target's probability falls as the most-attributed
//! cells are removed, a measure of an attribution's faithfulness.

use serde::{Deserialize, Serialize};

use crate::explainer::softmax;
use crate::{Attribution, Explainer};

/// A deletion curve: the target's probability as the most-attributed cells are set to
/// the baseline, a share at a time. A faithful map makes it fall fast (small area).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionCurve {
    /// Share of cells removed, from 0 to 1.
    pub fractions: Vec<f64>,
    /// The target's softmax probability after each removal.
    pub probabilities: Vec<f64>,
    /// Area under the curve (trapezoids over the fractions), in `[0, 1]`.
    pub area: f64,
}

impl Explainer {
    /// The deletion curve of `attribution` on `segment`: cells set to `baseline` in
    /// order of decreasing attribution, `steps` shares from 0 to all.
    pub fn deletion_curve(
        &self,
        segment: &[f32],
        attribution: &Attribution,
        steps: usize,
        baseline: f32,
    ) -> DeletionCurve {
        let steps = steps.max(1);
        let mut order: Vec<usize> = (0..segment.len()).collect();
        order.sort_by(|&a, &b| attribution.values[b].total_cmp(&attribution.values[a]));
        let mut inputs = Vec::with_capacity((steps + 1) * segment.len());
        let mut fractions = Vec::with_capacity(steps + 1);
        for k in 0..=steps {
            let removed = (order.len() * k).div_ceil(steps);
            let mut copy = segment.to_vec();
            for &i in &order[..removed] {
                copy[i] = baseline;
            }
            inputs.extend(copy);
            fractions.push(k as f64 / steps as f64);
        }
        let mut probabilities = Vec::with_capacity(steps + 1);
        let per_pass = 16;
        for chunk in inputs.chunks(per_pass * segment.len()) {
            let n = chunk.len() / segment.len();
            for logits in self.logits(chunk.to_vec(), n) {
                probabilities.push(softmax(&logits)[attribution.target]);
            }
        }
        let area =
            fractions.windows(2).zip(probabilities.windows(2)).map(|(f, p)| (f[1] - f[0]) * (p[0] + p[1]) / 2.0).sum();
        DeletionCurve { fractions, probabilities, area }
    }
}
