//! Classification metrics, checked against scikit-learn's numbers.
//!
//! No Burn here: metrics take class indices and probabilities. [`ClassificationReport`]
//! gives accuracy, the confusion matrix, per-class precision / recall / F1 / support
//! and their macro and weighted averages (scikit-learn's `zero_division=0`
//! convention); [`expected_calibration_error`] measures calibration.
//!
//! ```
//! let report = genre_eval::ClassificationReport::new(&[0, 1, 1, 2], &[0, 1, 2, 2], 3);
//! assert_eq!(report.accuracy, 0.75);
//! assert_eq!(report.confusion[1], vec![0, 1, 1]);
//! ```

#![deny(missing_docs)]

use serde::Serialize;

/// Precision, recall and F1 of one class or an average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// True positives over predicted positives (0 when nothing was predicted).
    pub precision: f64,
    /// True positives over actual positives (0 when the class never occurs).
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0).
    pub f1: f64,
}

/// Everything scikit-learn's `classification_report` and `confusion_matrix` give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Share of correct predictions.
    pub accuracy: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Per class.
    pub per_class: Vec<Scores>,
    /// Occurrences of each class in the truth.
    pub support: Vec<usize>,
    /// Unweighted mean over classes.
    pub macro_avg: Scores,
    /// Mean over classes weighted by support.
    pub weighted_avg: Scores,
}

impl ClassificationReport {
    /// The report for `truth` and `predicted` class indices (`< classes`; others are
    /// ignored), equal lengths.
    pub fn new(truth: &[usize], predicted: &[usize], classes: usize) -> Self {
        let mut confusion = vec![vec![0usize; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if t < classes && p < classes {
                confusion[t][p] += 1;
            }
        }
        let total: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
        let support: Vec<usize> = confusion.iter().map(|row| row.iter().sum()).collect();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<Scores> = (0..classes)
            .map(|c| {
                let predicted_c: usize = confusion.iter().map(|row| row[c]).sum();
                let precision = ratio(confusion[c][c], predicted_c);
                let recall = ratio(confusion[c][c], support[c]);
                let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
                Scores { precision, recall, f1 }
            })
            .collect();
        let average = |weight: &dyn Fn(usize) -> f64| {
            let total_weight: f64 = (0..classes).map(weight).sum();
            let mean = |f: fn(&Scores) -> f64| {
                if total_weight == 0.0 {
                    0.0
                } else {
                    (0..classes).map(|c| weight(c) * f(&per_class[c])).sum::<f64>() / total_weight
                }
            };
            Scores { precision: mean(|s| s.precision), recall: mean(|s| s.recall), f1: mean(|s| s.f1) }
        };
        let macro_avg = average(&|_| 1.0);
        let weighted_avg = average(&|c| support[c] as f64);
        ClassificationReport { accuracy: ratio(correct, total), confusion, per_class, support, macro_avg, weighted_avg }
    }
}

/// Expected calibration error with `bins` equal-width confidence bins: the
/// sample-weighted mean of |accuracy - mean confidence| per bin, where confidence is
/// the top class's probability. Also returns, per bin, `(mean confidence, accuracy,
/// count)` for a reliability plot.
pub fn expected_calibration_error(
    probabilities: &[Vec<f32>],
    truth: &[usize],
    bins: usize,
) -> (f64, Vec<(f64, f64, usize)>) {
    let bins = bins.max(1);
    let mut sums = vec![(0.0f64, 0usize, 0usize); bins]; // confidence sum, correct, count
    for (p, &t) in probabilities.iter().zip(truth) {
        let (best, confidence) =
            p.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        let bin = ((f64::from(confidence) * bins as f64) as usize).min(bins - 1);
        sums[bin].0 += f64::from(confidence);
        sums[bin].1 += usize::from(best == t);
        sums[bin].2 += 1;
    }
    let n: usize = sums.iter().map(|s| s.2).sum();
    let table: Vec<(f64, f64, usize)> = sums
        .iter()
        .map(
            |&(conf, correct, count)| {
                if count == 0 { (0.0, 0.0, 0) } else { (conf / count as f64, correct as f64 / count as f64, count) }
            },
        )
        .collect();
    let ece = if n == 0 {
        0.0
    } else {
        table.iter().map(|&(conf, acc, count)| count as f64 / n as f64 * (acc - conf).abs()).sum()
    };
    (ece, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfectly_confident_correct_model_is_calibrated() {
        let p = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert_eq!(expected_calibration_error(&p, &[0, 1], 10).0, 0.0);
        // Always 60 % sure, right half the time: ECE 0.1.
        let p = vec![vec![0.6, 0.4]; 4];
        let (ece, _) = expected_calibration_error(&p, &[0, 1, 0, 1], 10);
        assert!((ece - 0.1).abs() < 1e-6, "{ece}");
    }
}
