//! Points and weights on `[0, 1]` for integrated gradients, as Captum chooses them.

/// How the path integral is approximated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntegrationRule {
    /// Gauss-Legendre nodes mapped to `[0, 1]` (Captum's default).
    #[default]
    GaussLegendre,
    /// Riemann sum, left points.
    RiemannLeft,
    /// Riemann sum, right points.
    RiemannRight,
    /// Riemann sum, midpoints.
    RiemannMiddle,
    /// Trapezoids on `n` evenly spaced points including both ends. As in Captum, the
    /// weights are `1/n` with the ends halved (they sum to `1 - 1/n`).
    RiemannTrapezoid,
}

/// `(alphas, weights)` of `n` points for `rule`, in ascending order of alpha.
pub fn integration_points(rule: IntegrationRule, n: usize) -> (Vec<f64>, Vec<f64>) {
    let n = n.max(1);
    let even = |start: f64, end: f64| -> Vec<f64> {
        // torch.linspace in float32, as Captum builds its alphas.
        (0..n)
            .map(|i| if n == 1 { start } else { f64::from((start + (end - start) * i as f64 / (n - 1) as f64) as f32) })
            .collect()
    };
    let uniform = vec![1.0 / n as f64; n];
    match rule {
        IntegrationRule::GaussLegendre => {
            let (nodes, weights) = gauss_legendre(n);
            (nodes.iter().map(|x| 0.5 * (1.0 + x)).collect(), weights.iter().map(|w| 0.5 * w).collect())
        }
        IntegrationRule::RiemannLeft => (even(0.0, 1.0 - 1.0 / n as f64), uniform),
        IntegrationRule::RiemannRight => (even(1.0 / n as f64, 1.0), uniform),
        IntegrationRule::RiemannMiddle => (even(0.5 / n as f64, 1.0 - 0.5 / n as f64), uniform),
        IntegrationRule::RiemannTrapezoid => {
            let mut weights = uniform;
            if n > 1 {
                weights[0] /= 2.0;
                weights[n - 1] /= 2.0;
            }
            (even(0.0, 1.0), weights)
        }
    }
}

/// Nodes (ascending) and weights of `n`-point Gauss-Legendre quadrature on `[-1, 1]`,
/// by Newton's method on the Legendre polynomial (as `numpy.polynomial.legendre.leggauss`
/// gives them, to about 1e-15).
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n.div_ceil(2) {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 1 { x } else { p1 };
            let pn_1 = if n == 1 { 1.0 } else { p0 };
            derivative = n as f64 * (x * pn - pn_1) / (x * x - 1.0);
            let step = pn / derivative;
            x -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * derivative * derivative);
        nodes[i] = -x;
        nodes[n - 1 - i] = x;
        weights[i] = w;
        weights[n - 1 - i] = w;
    }
    (nodes, weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        let (alphas, weights) = integration_points(IntegrationRule::GaussLegendre, 50);
        assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let integral: f64 = alphas.iter().zip(&weights).map(|(a, w)| w * a.powi(9)).sum();
        assert!((integral - 0.1).abs() < 1e-12);
        assert!(alphas.windows(2).all(|p| p[0] < p[1]));
    }

    #[test]
    fn trapezoid_weights_sum_like_captums() {
        let (alphas, weights) = integration_points(IntegrationRule::RiemannTrapezoid, 50);
        assert_eq!((alphas[0], alphas[49]), (0.0, 1.0));
        assert!((weights.iter().sum::<f64>() - 0.98).abs() < 1e-12);
    }
}
