//! Depth-optimal evaluation of a monic polynomial on a ciphertext, with every
//! term landing exactly on the canonical scale of its level.
//!
//! `P = Q·u^m + R` with `m` the largest power of two ≤ deg P: `u^m` costs
//! `log2 m` squarings, `Q` and `R` recurse. A constant `Q = ±1` needs no
//! multiplication at all (the circuit makes every activation monic), so a
//! degree-2^k polynomial costs `k` levels and degree 6 costs 3.
//!
//! Scales never need correcting: a product of two level-`t+1` ciphertexts
//! rescales to `Δ_{t+1}²/q_{t+1} = Δ_t`, and a constant `c` taking a
//! ciphertext from level `a` to level `t` is encoded at `Δ_t·q_a/Δ_a`, so
//! after one rescale (and dropping primes) it sits at `(t, Δ_t)` as well.

use std::collections::HashMap;

use privox_ckks::{Ciphertext, Complex, Evaluator, RelinKey};

use crate::error::Result;

/// Degree of `c` (index of the last non-zero coefficient; 0 for constants).
fn degree(c: &[f64]) -> usize {
    c.iter().rposition(|&v| v != 0.0).unwrap_or(0)
}

/// Levels needed to evaluate `c` (`c[0]` is added for free).
pub fn depth(c: &[f64]) -> usize {
    let d = degree(c);
    match d {
        0 => 0,
        1 => usize::from(c[1].abs() != 1.0),
        _ => {
            let m = 1usize << (usize::BITS - 1 - d.leading_zeros()); // largest 2^k ≤ d
            let log_m = m.trailing_zeros() as usize;
            let q = &c[m..=d];
            let term = if degree(q) == 0 {
                log_m + usize::from(q[0].abs() != 1.0)
            } else {
                depth(q).max(log_m) + 1
            };
            term.max(depth(&c[..m]))
        }
    }
}

/// Evaluates polynomials on ciphertexts of one plan.
pub struct PolyEvaluator<'a> {
    /// The evaluator of the plan's parameters.
    pub ev: &'a Evaluator,
    /// Relinearization key for the products.
    pub rk: &'a RelinKey,
    /// Canonical scale of each level.
    pub scales: &'a [f64],
    /// The chain's primes, as f64.
    pub q: Vec<f64>,
}

/// Powers `u^(2^k)` of one input, computed on demand.
struct Powers {
    pow2: HashMap<u32, Ciphertext>,
}

impl PolyEvaluator<'_> {
    /// `P(u)` (`P[0]` included) at level `u.level() - depth(P)`.
    pub fn eval(&self, u: &Ciphertext, coeffs: &[f64]) -> Result<Ciphertext> {
        let mut powers = Powers {
            pow2: HashMap::from([(0, u.clone())]),
        };
        let target = u.level() - depth(coeffs);
        let out = self.eval_at(&mut powers, coeffs, target)?;
        Ok(match out {
            Some(ct) => ct,
            // A constant polynomial: c·1 is c times u^0 = 0·u + c.
            None => {
                let zero = self.mul_const_to(u, 0.0, target.min(u.level().saturating_sub(1)))?;
                self.ev.add_const(&zero, Complex::from(coeffs[0]))?
            }
        })
    }

    fn power(&self, powers: &mut Powers, k: u32) -> Result<Ciphertext> {
        if let Some(c) = powers.pow2.get(&k) {
            return Ok(c.clone());
        }
        let half = self.power(powers, k - 1)?;
        let sq = self.ev.rescale(&self.ev.square(&half, self.rk)?)?;
        powers.pow2.insert(k, sq.clone());
        Ok(sq)
    }

    /// `c·ct` moved to level `target < ct.level()` with scale `Δ_target`.
    pub fn mul_const_to(&self, ct: &Ciphertext, c: f64, target: usize) -> Result<Ciphertext> {
        let a = ct.level();
        let s = self.scales[target] * self.q[a] / ct.scale();
        let t = self.ev.rescale(&self.ev.mul_const(ct, c, s)?)?;
        let t = self.ev.drop_to_level(&t, target)?;
        // Exact up to the f64 rounding of the scale arithmetic (a few ulps,
        // far inside the evaluator's tolerance for additions).
        debug_assert!((t.scale() / self.scales[target] - 1.0).abs() < 1e-9);
        Ok(t)
    }

    /// `ct` at exactly `(target, Δ_target)`, multiplying by `c` on the way
    /// (a sign flip only when no level is dropped).
    fn bring(&self, ct: &Ciphertext, c: f64, target: usize) -> Result<Ciphertext> {
        if ct.level() == target && c.abs() == 1.0 {
            return Ok(if c < 0.0 {
                self.ev.negate(ct)?
            } else {
                ct.clone()
            });
        }
        self.mul_const_to(ct, c, target)
    }

    fn eval_at(&self, powers: &mut Powers, c: &[f64], target: usize) -> Result<Option<Ciphertext>> {
        let d = degree(c);
        let body = match d {
            0 => None,
            1 => {
                let u = self.power(powers, 0)?;
                Some(self.bring(&u, c[1], target)?)
            }
            _ => {
                let m = 1usize << (usize::BITS - 1 - d.leading_zeros());
                let log_m = m.trailing_zeros();
                let um = self.power(powers, log_m)?;
                let q = &c[m..=d];
                let term = if degree(q) == 0 {
                    self.bring(&um, q[0], target)?
                } else {
                    let qe = self
                        .eval_at(powers, q, target + 1)?
                        .expect("degree(q) > 0, so q has a non-constant part");
                    let um = self.bring(&um, 1.0, target + 1)?;
                    self.ev.rescale(&self.ev.mul(&qe, &um, self.rk)?)?
                };
                let rest = self.eval_at(powers, &c[..m], target)?;
                Some(match rest {
                    Some(r) => self.ev.add(&term, &r)?,
                    None => term,
                })
            }
        };
        Ok(match body {
            Some(b) if c[0] != 0.0 && d > 0 => Some(self.ev.add_const(&b, Complex::from(c[0]))?),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn depths_of_the_papers_activations() {
        assert_eq!(depth(&[0.0, 0.3, 1.0]), 1); // p2
        assert_eq!(depth(&[0.0, 0.3, 0.2, -0.1, -1.0]), 2); // p4
        assert_eq!(depth(&[0.0, 0.5, 0.3, 0.0, -0.2, 0.0, 1.0]), 3); // p6
        assert_eq!(depth(&[0.0, 1.0]), 0);
        assert_eq!(depth(&[0.0, 0.5]), 1);
        assert_eq!(depth(&[0.0, 0.0, 0.5]), 2); // non-monic square: u² then ·c
        assert_eq!(depth(&[0.1, 0.2, 0.3, 1.0]), 2);
    }
}
