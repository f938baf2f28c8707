//! Rate-dependent frame geometry (openSMILE sizes frames in seconds and rounds
//! to samples; FFTs are zero-padded to the next power of two).

/// Frame sizes, hops and FFT sizes for one input sample rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub sample_rate: f64,
    /// 10 ms hop in samples.
    pub hop: usize,
    /// 20 ms energy/spectral frame in samples.
    pub len20: usize,
    /// 60 ms pitch frame in samples.
    pub len60: usize,
    pub nfft20: usize,
    pub nfft60: usize,
}

impl Geometry {
    pub fn new(sample_rate: u32) -> Self {
        let sr = f64::from(sample_rate);
        let secs = |s: f64| (s * sr).round().max(1.0) as usize;
        let len20 = secs(0.020);
        let len60 = secs(0.060);
        Self {
            sample_rate: sr,
            hop: secs(0.010),
            len20,
            len60,
            nfft20: len20.next_power_of_two(),
            nfft60: len60.next_power_of_two(),
        }
    }

    pub fn bins20(&self) -> usize {
        self.nfft20 / 2 + 1
    }

    pub fn bins60(&self) -> usize {
        self.nfft60 / 2 + 1
    }

    /// Bin spacing in Hz of the 20 ms spectrum.
    pub fn df20(&self) -> f64 {
        self.sample_rate / self.nfft20 as f64
    }

    /// Bin spacing in Hz of the 60 ms spectrum.
    pub fn df60(&self) -> f64 {
        self.sample_rate / self.nfft60 as f64
    }
}

/// Hamming window `0.54 - 0.46 cos(2πi/(N-1))`.
pub(crate) fn hamming(n: usize) -> Vec<f64> {
    let d = (n.max(2) - 1) as f64;
    (0..n)
        .map(|i| 0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / d).cos())
        .collect()
}

/// Gaussian window with σ = 0.4 (peak 1 at the centre, no normalisation).
pub(crate) fn gauss(n: usize, sigma: f64) -> Vec<f64> {
    let half = (n.max(2) - 1) as f64 / 2.0;
    (0..n)
        .map(|i| {
            let t = (i as f64 - half) / (sigma * half);
            (-0.5 * t * t).exp()
        })
        .collect()
}
