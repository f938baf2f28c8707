//! Optimisers: plain/momentum SGD (the paper's) and Adam.

use crate::error::{ConfigError, Result};

/// Which update rule training uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `θ ← θ − lr·(g + λθ)`, optionally with heavy-ball momentum.
    /// The paper: `lr = 0.01`, momentum 0, weight decay 0.
    Sgd {
        /// Step size.
        learning_rate: f64,
        /// Momentum (0 for plain SGD).
        momentum: f64,
    },
    /// Adam (Kingma & Ba) with bias correction; L2 weight decay is added to
    /// the gradient like PyTorch's `Adam(weight_decay=…)`.
    Adam {
        /// Step size.
        learning_rate: f64,
        /// Decay of the first-moment estimate.
        beta1: f64,
        /// Decay of the second-moment estimate.
        beta2: f64,
        /// Added to the denominator for stability.
        eps: f64,
    },
}

impl Optimizer {
    /// The paper's optimiser: SGD with learning rate 0.01, no momentum.
    pub fn paper_sgd() -> Self {
        Optimizer::Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
        }
    }

    /// Adam with the usual defaults and the given learning rate.
    pub fn adam(learning_rate: f64) -> Self {
        Optimizer::Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let ok = match *self {
            Optimizer::Sgd {
                learning_rate,
                momentum,
            } => learning_rate > 0.0 && learning_rate.is_finite() && (0.0..1.0).contains(&momentum),
            Optimizer::Adam {
                learning_rate,
                beta1,
                beta2,
                eps,
            } => {
                learning_rate > 0.0
                    && learning_rate.is_finite()
                    && (0.0..1.0).contains(&beta1)
                    && (0.0..1.0).contains(&beta2)
                    && eps > 0.0
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ConfigError::Optimizer(*self).into())
        }
    }
}

/// Per-tensor optimiser state.
pub(crate) struct OptimizerState {
    kind: Optimizer,
    weight_decay: f64,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    t: i32,
}

impl OptimizerState {
    pub(crate) fn new(kind: Optimizer, weight_decay: f64) -> Self {
        OptimizerState {
            kind,
            weight_decay,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// One update of every tensor. `params[i]` pairs with `grads[i]`.
    pub(crate) fn step(&mut self, params: Vec<(&mut [f64], bool)>, grads: &[Vec<f64>]) {
        if self.m.is_empty() {
            self.m = grads.iter().map(|g| vec![0.0; g.len()]).collect();
            self.v = grads.iter().map(|g| vec![0.0; g.len()]).collect();
        }
        self.t = self.t.saturating_add(1);
        for (i, ((p, decays), g)) in params.into_iter().zip(grads).enumerate() {
            let wd = if decays { self.weight_decay } else { 0.0 };
            match self.kind {
                Optimizer::Sgd {
                    learning_rate,
                    momentum,
                } => {
                    let m = &mut self.m[i];
                    for ((pv, &gv), mv) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                        let gr = gv + wd * *pv;
                        *mv = momentum * *mv + gr;
                        *pv -= learning_rate * *mv;
                    }
                }
                Optimizer::Adam {
                    learning_rate,
                    beta1,
                    beta2,
                    eps,
                } => {
                    let c1 = 1.0 - beta1.powi(self.t);
                    let c2 = 1.0 - beta2.powi(self.t);
                    let (m, v) = (&mut self.m[i], &mut self.v[i]);
                    for (((pv, &gv), mv), vv) in
                        p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        let gr = gv + wd * *pv;
                        *mv = beta1 * *mv + (1.0 - beta1) * gr;
                        *vv = beta2 * *vv + (1.0 - beta2) * gr * gr;
                        *pv -= learning_rate * (*mv / c1) / ((*vv / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimise(kind: Optimizer) -> f64 {
        // f(x) = (x - 3)², gradient 2(x - 3)
        let mut x = [0.0];
        let mut st = OptimizerState::new(kind, 0.0);
        for _ in 0..2000 {
            let g = vec![vec![2.0 * (x[0] - 3.0)]];
            st.step(vec![(&mut x[..], true)], &g);
        }
        x[0]
    }

    #[test]
    fn both_optimisers_find_a_quadratic_minimum() {
        assert!((minimise(Optimizer::paper_sgd()) - 3.0).abs() < 1e-6);
        assert!((minimise(Optimizer::adam(0.05)) - 3.0).abs() < 1e-3);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Optimizer::adam(0.0).validate().is_err());
        assert!(
            Optimizer::Sgd {
                learning_rate: 0.1,
                momentum: 1.0
            }
            .validate()
            .is_err()
        );
    }
}
