//! Polynomial roots as eigenvalues of the balanced companion matrix, found
//! with the shifted Hessenberg QR algorithm (the method GSL uses).

use realfft::num_complex::Complex;

/// Roots of the monic polynomial `z^n + c[0] z^(n-1) + ... + c[n-1]`.
/// Returns `None` if the QR iteration does not converge.
pub(crate) fn companion_roots<const N: usize>(c: &[f64; N]) -> Option<Vec<Complex<f64>>> {
    let n = N;
    // Upper Hessenberg companion matrix: first row -c, sub-diagonal ones.
    let mut a = [[0.0f64; N]; N];
    for j in 0..n {
        a[0][j] = -c[j];
    }
    for i in 1..n {
        a[i][i - 1] = 1.0;
    }
    balance(&mut a);
    hqr(&mut a)
}

fn balance<const N: usize>(a: &mut [[f64; N]; N]) {
    const RADIX: f64 = 2.0;
    let sqrdx = RADIX * RADIX;
    let mut done = false;
    while !done {
        done = true;
        for i in 0..N {
            let mut r = 0.0;
            let mut c = 0.0;
            for j in 0..N {
                if j != i {
                    c += a[j][i].abs();
                    r += a[i][j].abs();
                }
            }
            if c != 0.0 && r != 0.0 {
                let mut g = r / RADIX;
                let mut f = 1.0;
                let s = c + r;
                while c < g {
                    f *= RADIX;
                    c *= sqrdx;
                }
                g = r * RADIX;
                while c > g {
                    f /= RADIX;
                    c /= sqrdx;
                }
                if (c + r) / f < 0.95 * s {
                    done = false;
                    let g = 1.0 / f;
                    for j in 0..N {
                        a[i][j] *= g;
                    }
                    for row in a.iter_mut() {
                        row[i] *= f;
                    }
                }
            }
        }
    }
}

/// Eigenvalues of an upper Hessenberg matrix (Francis double-shift QR).
fn hqr<const N: usize>(a: &mut [[f64; N]; N]) -> Option<Vec<Complex<f64>>> {
    let mut wr = [0.0f64; N];
    let mut wi = [0.0f64; N];
    let mut anorm = 0.0;
    for i in 0..N {
        for j in i.saturating_sub(1)..N {
            anorm += a[i][j].abs();
        }
    }
    let mut nn = N as isize - 1;
    let mut t = 0.0;
    while nn >= 0 {
        let mut its = 0;
        let mut l: isize;
        loop {
            l = nn;
            while l >= 1 {
                let lu = l as usize;
                let s = a[lu - 1][lu - 1].abs() + a[lu][lu].abs();
                let s = if s == 0.0 { anorm } else { s };
                if a[lu][lu - 1].abs() + s == s {
                    a[lu][lu - 1] = 0.0;
                    break;
                }
                l -= 1;
            }
            let nu = nn as usize;
            let x = a[nu][nu];
            if l == nn {
                wr[nu] = x + t;
                wi[nu] = 0.0;
                nn -= 1;
                break;
            }
            let y = a[nu - 1][nu - 1];
            let w = a[nu][nu - 1] * a[nu - 1][nu];
            if l == nn - 1 {
                let p = 0.5 * (y - x);
                let q = p * p + w;
                let z = q.abs().sqrt();
                let xx = x + t;
                if q >= 0.0 {
                    let z = p + z.copysign(p);
                    wr[nu - 1] = xx + z;
                    wr[nu] = if z != 0.0 { xx - w / z } else { xx + z };
                    wi[nu - 1] = 0.0;
                    wi[nu] = 0.0;
                } else {
                    wr[nu - 1] = xx + p;
                    wr[nu] = xx + p;
                    wi[nu - 1] = -z;
                    wi[nu] = z;
                }
                nn -= 2;
                break;
            }
            // openSMILE's solver allows 70 iterations per root and applies an
            // exceptional shift every 10 (frames exist that need more than 30).
            if its == 70 {
                return None;
            }
            let (mut x, mut y, mut w) = (x, y, w);
            if its > 0 && its % 10 == 0 {
                t += x;
                for i in 0..=nu {
                    a[i][i] -= x;
                }
                let s = a[nu][nu - 1].abs() + a[nu - 1][nu - 2].abs();
                x = 0.75 * s;
                y = x;
                w = -0.4375 * s * s;
            }
            its += 1;
            let mut m = nn - 2;
            let (mut p, mut q, mut r);
            loop {
                let mu = m as usize;
                let z = a[mu][mu];
                let rr = x - z;
                let ss = y - z;
                p = (rr * ss - w) / a[mu + 1][mu] + a[mu][mu + 1];
                q = a[mu + 1][mu + 1] - z - rr - ss;
                r = a[mu + 2][mu + 1];
                let s = p.abs() + q.abs() + r.abs();
                p /= s;
                q /= s;
                r /= s;
                if m == l {
                    break;
                }
                let u = a[mu][mu - 1].abs() * (q.abs() + r.abs());
                let v = p.abs() * (a[mu - 1][mu - 1].abs() + z.abs() + a[mu + 1][mu + 1].abs());
                if u + v == v {
                    break;
                }
                m -= 1;
            }
            let mu = m as usize;
            for i in mu + 2..=nu {
                a[i][i - 2] = 0.0;
                if i != mu + 2 {
                    a[i][i - 3] = 0.0;
                }
            }
            let lu = l as usize;
            let mut k = mu;
            while k < nu {
                if k != mu {
                    p = a[k][k - 1];
                    q = a[k + 1][k - 1];
                    r = 0.0;
                    if k + 1 != nu {
                        r = a[k + 2][k - 1];
                    }
                    x = p.abs() + q.abs() + r.abs();
                    if x != 0.0 {
                        p /= x;
                        q /= x;
                        r /= x;
                    }
                }
                let s = (p * p + q * q + r * r).sqrt().copysign(p);
                if s != 0.0 {
                    if k == mu {
                        if l != m {
                            a[k][k - 1] = -a[k][k - 1];
                        }
                    } else {
                        a[k][k - 1] = -s * x;
                    }
                    p += s;
                    x = p / s;
                    y = q / s;
                    let z = r / s;
                    q /= p;
                    r /= p;
                    for j in k..=nu {
                        let mut pp = a[k][j] + q * a[k + 1][j];
                        if k + 1 != nu {
                            pp += r * a[k + 2][j];
                            a[k + 2][j] -= pp * z;
                        }
                        a[k + 1][j] -= pp * y;
                        a[k][j] -= pp * x;
                    }
                    let mmin = if nu < k + 3 { nu } else { k + 3 };
                    for i in lu..=mmin {
                        let mut pp = x * a[i][k] + y * a[i][k + 1];
                        if k + 1 != nu {
                            pp += z * a[i][k + 2];
                            a[i][k + 2] -= pp * r;
                        }
                        a[i][k + 1] -= pp * q;
                        a[i][k] -= pp;
                    }
                }
                k += 1;
            }
            if l >= nn - 1 {
                break;
            }
        }
    }
    Some(
        wr.iter()
            .zip(&wi)
            .map(|(&re, &im)| Complex::new(re, im))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_of_known_cubic() {
        // (z-1)(z-2)(z-3) = z^3 - 6z^2 + 11z - 6
        let mut r: Vec<f64> = companion_roots(&[-6.0, 11.0, -6.0])
            .unwrap()
            .iter()
            .map(|z| z.re)
            .collect();
        r.sort_by(f64::total_cmp);
        for (a, b) in r.iter().zip([1.0, 2.0, 3.0]) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn complex_pair() {
        // z^2 + 1
        let r = companion_roots(&[0.0, 1.0]).unwrap();
        assert!(
            r.iter()
                .all(|z| (z.norm() - 1.0).abs() < 1e-12 && z.re.abs() < 1e-12)
        );
    }
}
