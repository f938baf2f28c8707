//! Decode throughput of privox-audio's WAV walker against symphonia's WAV
//! reader (the anchor), interleaved in one run on the same in-memory files.
//!
//! `cargo run --release -p privox-audio --example decode_speed [DIR]`
//! (default DIR: data/demo/wav). Prints the median of 7 passes of each.

use std::time::Instant;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

fn symphonia_mono(bytes: &[u8]) -> Result<usize, symphonia::core::errors::Error> {
    let mss = MediaSourceStream::new(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        Default::default(),
    );
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe().format(
        &hint,
        mss,
        &FormatOptions::default(),
        &MetadataOptions::default(),
    )?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or(symphonia::core::errors::Error::DecodeError("no track"))?
        .clone();
    let mut dec =
        symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default())?;
    let mut mono: Vec<f32> = Vec::new();
    while let Ok(packet) = format.next_packet() {
        let audio = dec.decode(&packet)?;
        let spec = *audio.spec();
        let ch = spec.channels.count();
        let mut buf = SampleBuffer::<f32>::new(audio.capacity() as u64, spec);
        buf.copy_interleaved_ref(audio);
        mono.extend(
            buf.samples()
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() / ch as f32),
        );
    }
    Ok(mono.len())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data/demo/wav".into());
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "wav") {
            files.push(std::fs::read(&p)?);
        }
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut samples = 0usize;
    let mut seconds = 0.0f64;
    for pass in 0..7 {
        let t = Instant::now();
        let (mut n, mut secs) = (0usize, 0.0f64);
        for f in &files {
            let a = privox_audio::decode_bytes(f)?;
            n += a.samples.len();
            secs += a.duration_secs();
        }
        ours.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut m = 0usize;
        for f in &files {
            m += symphonia_mono(f)?;
        }
        theirs.push(t.elapsed().as_secs_f64());
        assert_eq!(n, m, "both decoders must yield the same number of samples");
        if pass == 0 {
            samples = n;
            seconds = secs;
        }
    }
    let (o, s) = (median(ours), median(theirs));
    println!(
        "{} files, {samples} samples ({seconds:.1} s of audio); median of 7 passes:\n  privox-audio  {:.2} ms  ({:.0}x real time)\n  symphonia wav {:.2} ms  ({:.0}x real time)\n  ratio symphonia/privox = {:.2}",
        files.len(),
        o * 1e3,
        seconds / o,
        s * 1e3,
        seconds / s,
        s / o
    );
    Ok(())
}
