//! Online Viterbi pitch smoother (spec §4.2), including openSMILE's quirks:
//! wTvvd = wTvv, unvoiced→unvoiced cost 1, one global `lastChange` mutated in
//! evaluation order, and decisions taken online with a 40-frame buffer.

use crate::shs::{Candidates, NUM_CANDIDATES};

const NUM_STATES: usize = NUM_CANDIDATES + 1;
const UNVOICED: usize = NUM_CANDIDATES;
const VOICING_THR: f64 = 0.7;
const W_LOCAL: f64 = 2.0;
const W_TVV: f64 = 10.0;
const W_TVVD: f64 = 10.0;
const W_TVUV: f64 = 10.0;
const W_THR: f64 = 4.0;
const W_RANGE: f64 = 1.0;
const BUFFER: usize = 40;
/// Longest undecided window (frames) the back-pointer ring must hold.
const WINDOW: usize = BUFFER + 2;

fn range_penalty(f: f64) -> f64 {
    if f <= 0.0 {
        2.0
    } else if f < 100.0 {
        1.0 - f / 100.0
    } else if f < 350.0 {
        0.0
    } else if f < 600.0 {
        (f - 350.0) / 250.0
    } else {
        1.2
    }
}

fn local_cost(state: usize, c: &Candidates) -> f64 {
    if state < UNVOICED {
        let pv = c.voicing[state].clamp(0.01, 1.0);
        let thr = if pv < VOICING_THR { W_THR } else { 0.0 };
        (-pv.ln() + thr) * W_LOCAL + range_penalty(c.freq[state]) * W_RANGE
    } else if c.voicing.iter().any(|&v| v >= VOICING_THR) {
        W_LOCAL * W_THR
    } else {
        0.0
    }
}

/// Online decoder. Frames go in with [`Viterbi::push`]; decided frame states
/// come out in order through the callback.
pub(crate) struct Viterbi {
    last_change: f64,
    cost: [f64; NUM_STATES],
    prev: Candidates,
    /// Back-pointers of undecided frames (ring, indexed by absolute frame mod WINDOW).
    back: [[u8; NUM_STATES]; WINDOW],
    frames: usize,
    /// Number of frames decided so far (== index of the oldest undecided frame).
    decided: usize,
}

impl Viterbi {
    pub fn new() -> Self {
        Self {
            last_change: 1.0,
            cost: [0.0; NUM_STATES],
            prev: Candidates::default(),
            back: [[0; NUM_STATES]; WINDOW],
            frames: 0,
            decided: 0,
        }
    }

    fn trans(&mut self, i: usize, j: usize, cur: &Candidates) -> f64 {
        let iv = i < UNVOICED;
        let jv = j < UNVOICED;
        if iv && jv {
            let f_prev = self.prev.freq[j];
            let f_cur = cur.freq[i];
            if f_prev == 0.0 || f_cur == 0.0 {
                return 999.0;
            }
            let r = (f_cur / f_prev).ln();
            let x = W_TVV * r.abs() + W_TVVD * (r - self.last_change).abs();
            self.last_change = r;
            x
        } else if iv != jv {
            self.last_change = 0.0;
            W_TVUV
        } else {
            1.0
        }
    }

    /// Adds one frame; calls `decide(frame_index, state)` for every frame
    /// that becomes final (in increasing frame order).
    pub fn push(&mut self, c: &Candidates, mut decide: impl FnMut(usize, usize)) {
        let t = self.frames;
        if t == 0 {
            for s in 0..NUM_STATES {
                self.cost[s] = local_cost(s, c);
            }
            self.back[0] = [0; NUM_STATES];
        } else {
            let mut new_cost = [0.0; NUM_STATES];
            let mut bp = [0u8; NUM_STATES];
            for i in 0..NUM_STATES {
                let mut best = f64::INFINITY;
                let mut best_j = 0;
                for j in 0..NUM_STATES {
                    let cst = self.trans(i, j, c) + self.cost[j];
                    if cst < best {
                        best = cst;
                        best_j = j;
                    }
                }
                new_cost[i] = best + local_cost(i, c);
                bp[i] = best_j as u8;
            }
            self.cost = new_cost;
            self.back[t % WINDOW] = bp;
        }
        self.prev = *c;
        self.frames = t + 1;
        if t == 0 {
            return;
        }
        let conv_plus1 = self.decided; // oldest undecided frame
        // model: if (t + 1) - conv > BUFLEN, with conv = decided - 1
        if (t + 1) + 1 > BUFFER + conv_plus1 {
            let best = self.cheapest_state();
            let st = self.trace(best, t, conv_plus1);
            self.decided += 1;
            decide(conv_plus1, st);
        } else {
            // frames on which all paths agree, oldest first
            let mut states = [[0u8; WINDOW]; NUM_STATES];
            let len = t + 1 - conv_plus1;
            for (s, row) in states.iter_mut().enumerate() {
                let mut st = s;
                for k in (0..len).rev() {
                    row[k] = st as u8;
                    if k > 0 {
                        st = self.back[(conv_plus1 + k) % WINDOW][st] as usize;
                    }
                }
            }
            for k in 0..len - 1 {
                let x = states[0][k];
                if states.iter().all(|r| r[k] == x) {
                    self.decided += 1;
                    decide(conv_plus1 + k, x as usize);
                } else {
                    break;
                }
            }
            // Frame t itself is never decided here: all 7 paths end in distinct states.
        }
    }

    fn cheapest_state(&self) -> usize {
        let mut best = 0;
        for s in 1..NUM_STATES {
            if self.cost[s] < self.cost[best] {
                best = s;
            }
        }
        best
    }

    /// State at frame `target` on the path ending in `state` at frame `t`.
    fn trace(&self, state: usize, t: usize, target: usize) -> usize {
        let mut st = state;
        let mut k = t;
        while k > target {
            st = self.back[k % WINDOW][st] as usize;
            k -= 1;
        }
        st
    }

    /// Ends the input: the undecided frames follow the cheapest path. Returns
    /// the number of frames that were still pending.
    pub fn finish(&mut self, mut decide: impl FnMut(usize, usize)) -> usize {
        if self.frames == 0 {
            return 0;
        }
        let t = self.frames - 1;
        let pending = self.frames - self.decided;
        let best = self.cheapest_state();
        let mut path = [0usize; WINDOW];
        let mut st = best;
        for k in (self.decided..=t).rev() {
            path[k - self.decided] = st;
            if k > self.decided {
                st = self.back[k % WINDOW][st] as usize;
            }
        }
        for k in self.decided..=t {
            decide(k, path[k - self.decided]);
        }
        self.decided = self.frames;
        pending
    }
}

/// The state index meaning "unvoiced".
pub(crate) const UNVOICED_STATE: usize = UNVOICED;
