//! Streams one audio file block by block through the extractor (the whole
//! signal is never in memory) and prints the 88 functionals. Used by
//! bench/egemaps/run.sh to measure peak RSS on long files.
//!
//! `cargo run --release -p privox-egemaps --example stream_file -- FILE [--llds]`
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: stream_file FILE [--llds]");
    let opts = privox_audio::DecodeOptions::default();
    let stream = privox_audio::AudioStream::open(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
    let mut ex =
        privox_egemaps::Extractor::new(stream.sample_rate()).unwrap_or_else(|e| panic!("{e}"));
    let mut samples = 0usize;
    for block in stream {
        let block = block.unwrap_or_else(|e| panic!("{e}"));
        samples += block.len();
        ex.push(&block).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = ex.finish().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("samples={samples} lld_frames={}", out.llds.len());
    for (n, v) in out.functionals.iter() {
        println!("{n},{v}");
    }
}
