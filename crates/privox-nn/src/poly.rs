//! Polynomial activations: evaluation, the paper's presets, and fits of ReLU
//! (or any function) on an interval `[-r, r]`.
//!
//! Encrypted evaluation can only add and multiply, so ReLU is replaced by a
//! low-degree polynomial that approximates it on the interval where the
//! pre-activations live. Outside that interval the polynomial diverges from
//! ReLU quickly, which is why batch-norm (or the range penalty of
//! [`crate::TrainConfig::range_penalty`]) keeps the inputs inside it.
//!
//! ```
//! use privox_nn::{fit_chebyshev, PolyActivation};
//!
//! // The paper's degree-2 approximation of ReLU on [-2, 2]...
//! let p2 = PolyActivation::preset("p2").unwrap();
//! assert!((p2.poly.eval(2.0) - 2.0).abs() < 0.01);
//! // ...and a fresh near-minimax fit of the same degree.
//! let fit = fit_chebyshev(&|x: f64| x.max(0.0), 2, 2.0).unwrap();
//! assert!(fit.max_error < 0.3);
//! ```

use crate::error::{ConfigError, FitError, Result};

/// Highest degree accepted by the fitters: beyond it the power-basis
/// coefficients lose too much precision to be useful (and no CKKS circuit
/// would afford the depth).
pub const MAX_FIT_DEGREE: usize = 31;

/// A polynomial in the power basis: `c[0] + c[1]·x + c[2]·x² + …`.
#[derive(Clone, Debug, PartialEq)]
pub struct Polynomial {
    coeffs: Vec<f64>,
}

impl Polynomial {
    /// A polynomial from power-basis coefficients, lowest degree first.
    /// Fails on an empty list or a non-finite coefficient.
    pub fn new(coeffs: Vec<f64>) -> Result<Self> {
        if coeffs.is_empty() {
            return Err(ConfigError::EmptyPolynomial.into());
        }
        if let Some(c) = coeffs.iter().find(|c| !c.is_finite()) {
            return Err(ConfigError::NonFiniteCoefficient(*c).into());
        }
        Ok(Polynomial { coeffs })
    }

    /// Coefficients, lowest degree first.
    pub fn coeffs(&self) -> &[f64] {
        &self.coeffs
    }

    /// Degree (index of the last coefficient; trailing zeros count).
    pub fn degree(&self) -> usize {
        self.coeffs.len() - 1
    }

    /// `p(x)` by Horner's rule.
    #[inline]
    pub fn eval(&self, x: f64) -> f64 {
        self.coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
    }

    /// `p'(x)` by Horner's rule.
    #[inline]
    pub fn derivative(&self, x: f64) -> f64 {
        let n = self.coeffs.len();
        (1..n)
            .rev()
            .fold(0.0, |acc, k| acc * x + k as f64 * self.coeffs[k])
    }
}

impl std::fmt::Display for Polynomial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (k, c) in self.coeffs.iter().enumerate() {
            if *c == 0.0 && self.coeffs.len() > 1 {
                continue;
            }
            let sign = if *c < 0.0 { "-" } else { "+" };
            if first {
                if *c < 0.0 {
                    f.write_str("-")?;
                }
            } else {
                write!(f, " {sign} ")?;
            }
            first = false;
            match k {
                0 => write!(f, "{:.4}", c.abs())?,
                1 => write!(f, "{:.4}x", c.abs())?,
                _ => write!(f, "{:.4}x^{k}", c.abs())?,
            }
        }
        Ok(())
    }
}

/// A polynomial used as an activation, with the interval `[-r, r]` on which
/// it is meant to be evaluated (its inputs should stay inside it).
#[derive(Clone, Debug, PartialEq)]
pub struct PolyActivation {
    /// The polynomial.
    pub poly: Polynomial,
    /// Half-width `r` of the interval `[-r, r]` the polynomial was fitted on.
    pub interval: f64,
}

/// Names accepted by [`PolyActivation::preset`].
pub const PRESET_NAMES: [&str; 3] = ["p2", "p4", "p6"];

impl PolyActivation {
    /// An activation from a polynomial and its interval half-width `r > 0`.
    pub fn new(poly: Polynomial, interval: f64) -> Result<Self> {
        if !(interval.is_finite() && interval > 0.0) {
            return Err(ConfigError::PolyInterval(interval).into());
        }
        Ok(PolyActivation { poly, interval })
    }

    /// The paper's Table 3 approximations of ReLU on about `[-2, 2]`:
    /// `"p2"`, `"p4"` or `"p6"`. `None` for any other name.
    pub fn preset(name: &str) -> Option<Self> {
        let coeffs = match name {
            "p2" => vec![0.1992, 0.5002, 0.1997],
            "p4" => vec![0.1500, 0.5012, 0.2981, -0.0004, -0.0388],
            "p6" => vec![0.1249, 0.5000, 0.3729, 0.0, -0.0410, 0.0, 0.0016],
            _ => return None,
        };
        // Invariant: the literals above are finite and non-empty.
        let poly = Polynomial::new(coeffs).expect("preset coefficients are valid");
        Some(PolyActivation {
            poly,
            interval: 2.0,
        })
    }
}

/// How a [`PolyFit`] was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitMethod {
    /// Least squares on a dense uniform grid (approximates the continuous L2 fit).
    LeastSquares,
    /// Interpolation at the Chebyshev nodes of the first kind (near-minimax).
    Chebyshev,
}

/// A fitted polynomial and its worst-case error on the interval.
#[derive(Clone, Debug)]
pub struct PolyFit {
    /// The fitted activation.
    pub activation: PolyActivation,
    /// How it was fitted.
    pub method: FitMethod,
    /// `max |p(x) − f(x)|` over a dense grid of `[-r, r]`.
    pub max_error: f64,
}

/// Maximum of `|p(x) − f(x)|` over `samples` evenly spaced points of `[-r, r]`.
pub fn max_abs_error(poly: &Polynomial, f: &dyn Fn(f64) -> f64, r: f64, samples: usize) -> f64 {
    let n = samples.max(2);
    (0..n)
        .map(|i| {
            let x = -r + 2.0 * r * i as f64 / (n - 1) as f64;
            (poly.eval(x) - f(x)).abs()
        })
        .fold(0.0, f64::max)
}

const ERROR_GRID: usize = 20_001;

fn check_fit_args(degree: usize, r: f64) -> Result<()> {
    if degree > MAX_FIT_DEGREE {
        return Err(FitError::DegreeTooHigh {
            degree,
            max: MAX_FIT_DEGREE,
        }
        .into());
    }
    if !(r.is_finite() && r > 0.0) {
        return Err(FitError::Interval(r).into());
    }
    Ok(())
}

/// Least-squares fit of `f` on `[-r, r]` with a polynomial of `degree`.
///
/// Solved in the Chebyshev basis with a QR factorisation (well conditioned),
/// then converted to the power basis.
pub fn fit_least_squares(f: &dyn Fn(f64) -> f64, degree: usize, r: f64) -> Result<PolyFit> {
    check_fit_args(degree, r)?;
    let m = (200 * (degree + 1)).max(4001);
    let ts: Vec<f64> = (0..m)
        .map(|i| -1.0 + 2.0 * i as f64 / (m - 1) as f64)
        .collect();
    let ys: Vec<f64> = ts.iter().map(|t| f(t * r)).collect();
    if ys.iter().any(|y| !y.is_finite()) {
        return Err(FitError::NonFiniteFunction.into());
    }
    let cols: Vec<Vec<f64>> = (0..=degree)
        .map(|k| ts.iter().map(|&t| chebyshev_t(k, t)).collect())
        .collect();
    let cheb = least_squares_qr(&cols, &ys)?;
    finish_fit(f, &cheb, r, FitMethod::LeastSquares)
}

/// Chebyshev interpolation of `f` on `[-r, r]` at `degree + 1` nodes: a
/// near-minimax fit (within a small factor of the best uniform error).
pub fn fit_chebyshev(f: &dyn Fn(f64) -> f64, degree: usize, r: f64) -> Result<PolyFit> {
    check_fit_args(degree, r)?;
    let n = degree + 1;
    let nodes: Vec<f64> = (0..n)
        .map(|j| (std::f64::consts::PI * (j as f64 + 0.5) / n as f64).cos())
        .collect();
    let values: Vec<f64> = nodes.iter().map(|t| f(t * r)).collect();
    if values.iter().any(|y| !y.is_finite()) {
        return Err(FitError::NonFiniteAtNode.into());
    }
    let cheb: Vec<f64> = (0..n)
        .map(|k| {
            let s: f64 = nodes
                .iter()
                .zip(&values)
                .map(|(&t, &y)| y * chebyshev_t(k, t))
                .sum();
            if k == 0 {
                s / n as f64
            } else {
                2.0 * s / n as f64
            }
        })
        .collect();
    finish_fit(f, &cheb, r, FitMethod::Chebyshev)
}

fn finish_fit(f: &dyn Fn(f64) -> f64, cheb: &[f64], r: f64, method: FitMethod) -> Result<PolyFit> {
    let poly = Polynomial::new(chebyshev_to_power(cheb, r))?;
    let max_error = max_abs_error(&poly, f, r, ERROR_GRID);
    Ok(PolyFit {
        activation: PolyActivation::new(poly, r)?,
        method,
        max_error,
    })
}

/// `T_k(t)` by the three-term recurrence.
fn chebyshev_t(k: usize, t: f64) -> f64 {
    let (mut a, mut b) = (1.0, t);
    match k {
        0 => a,
        _ => {
            for _ in 1..k {
                let c = 2.0 * t * b - a;
                a = b;
                b = c;
            }
            b
        }
    }
}

/// Converts `Σ c_k T_k(x / r)` to power-basis coefficients in `x`.
fn chebyshev_to_power(cheb: &[f64], r: f64) -> Vec<f64> {
    let n = cheb.len();
    let mut out = vec![0.0; n];
    // T_{k-1}, T_k in the power basis of t, built by the recurrence.
    let mut prev = vec![0.0; n];
    let mut cur = vec![0.0; n];
    prev[0] = 1.0;
    if n > 1 {
        cur[1] = 1.0;
    }
    for (k, &c) in cheb.iter().enumerate() {
        let tk = if k == 0 { &prev } else { &cur };
        for (o, t) in out.iter_mut().zip(tk) {
            *o += c * t;
        }
        if k >= 1 && k + 1 < n {
            let mut next = vec![0.0; n];
            for j in 0..n - 1 {
                next[j + 1] += 2.0 * cur[j];
            }
            for j in 0..n {
                next[j] -= prev[j];
            }
            prev = std::mem::replace(&mut cur, next);
        }
    }
    let mut scale = 1.0;
    for o in out.iter_mut() {
        *o *= scale;
        scale /= r;
    }
    out
}

/// Solves `min ‖A c − y‖₂` for the column-stored `A` by modified Gram–Schmidt
/// with re-orthogonalisation.
fn least_squares_qr(cols: &[Vec<f64>], y: &[f64]) -> Result<Vec<f64>> {
    let n = cols.len();
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut rmat = vec![vec![0.0; n]; n];
    for (j, col) in cols.iter().enumerate() {
        let mut v = col.clone();
        for _pass in 0..2 {
            for (i, qi) in q.iter().enumerate() {
                let d: f64 = qi.iter().zip(&v).map(|(a, b)| a * b).sum();
                rmat[i][j] += d;
                for (vv, qq) in v.iter_mut().zip(qi) {
                    *vv -= d * qq;
                }
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm < 1e-12 {
            return Err(FitError::RankDeficient.into());
        }
        rmat[j][j] = norm;
        v.iter_mut().for_each(|a| *a /= norm);
        q.push(v);
    }
    let qty: Vec<f64> = q
        .iter()
        .map(|qi| qi.iter().zip(y).map(|(a, b)| a * b).sum())
        .collect();
    let mut c = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| rmat[i][k] * c[k]).sum();
        c[i] = (qty[i] - s) / rmat[i][i];
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relu(x: f64) -> f64 {
        x.max(0.0)
    }

    #[test]
    fn horner_and_derivative() {
        let p = Polynomial::new(vec![1.0, -2.0, 3.0]).unwrap();
        assert_eq!(p.eval(2.0), 1.0 - 4.0 + 12.0);
        assert_eq!(p.derivative(2.0), -2.0 + 12.0);
        assert_eq!(p.degree(), 2);
    }

    #[test]
    fn least_squares_matches_the_analytic_l2_fit_of_relu() {
        // On [-2, 2], ReLU(x) = x/2 + |x|/2 and the L2 projection of |t| on
        // Legendre P0, P2 gives 3/16 + 15/16 t²: so 0.1875 + 0.5x + 0.234375x².
        let fit = fit_least_squares(&relu, 2, 2.0).unwrap();
        let c = fit.activation.poly.coeffs();
        assert!((c[0] - 0.1875).abs() < 1e-3, "{c:?}");
        assert!((c[1] - 0.5).abs() < 1e-9, "{c:?}");
        assert!((c[2] - 0.234375).abs() < 1e-3, "{c:?}");
        assert!(fit.max_error > 0.15 && fit.max_error < 0.25);
    }

    #[test]
    fn fits_reproduce_polynomials_exactly() {
        let target = |x: f64| 0.3 - x + 0.25 * x * x * x;
        for fit in [
            fit_least_squares(&target, 3, 3.0).unwrap(),
            fit_chebyshev(&target, 3, 3.0).unwrap(),
        ] {
            assert!(fit.max_error < 1e-9, "{:?}", fit);
        }
    }

    #[test]
    fn chebyshev_error_shrinks_with_degree() {
        let e: Vec<f64> = [2, 4, 8, 16]
            .iter()
            .map(|&d| fit_chebyshev(&relu, d, 2.0).unwrap().max_error)
            .collect();
        assert!(e.windows(2).all(|w| w[1] < w[0]), "{e:?}");
    }

    #[test]
    fn presets_approximate_relu_on_their_interval() {
        for name in PRESET_NAMES {
            let a = PolyActivation::preset(name).unwrap();
            let err = max_abs_error(&a.poly, &relu, a.interval, 1001);
            assert!(err < 0.35, "{name}: {err}");
        }
        assert!(PolyActivation::preset("p3").is_none());
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(Polynomial::new(vec![]).is_err());
        assert!(Polynomial::new(vec![f64::NAN]).is_err());
        assert!(fit_chebyshev(&relu, 2, 0.0).is_err());
        assert!(fit_least_squares(&relu, MAX_FIT_DEGREE + 1, 1.0).is_err());
        assert!(fit_least_squares(&|x: f64| 1.0 / x, 2, 1.0).is_err());
    }
}
