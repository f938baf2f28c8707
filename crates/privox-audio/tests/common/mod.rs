//! Helpers shared by the integration tests (privox-audio's and privox-cli's
//! extract tests); each test binary uses only some of them.
#![allow(dead_code)]

/// A canonical WAV: RIFF header, a 16-byte `fmt ` chunk with format `tag`
/// (1 = integer PCM, 3 = IEEE float), then one `data` chunk holding `data`
/// (padded to an even length, as RIFF requires).
pub fn canonical_wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    wav_with_trailer(tag, channels, rate, bits, data, &[])
}

/// [`canonical_wav`] followed by `after_data` (more chunks) after the data
/// chunk. Also used by privox-cli's extract tests.
pub fn wav_with_trailer(
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
    after_data: &[u8],
) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&16u32.to_le_bytes());
    body.extend_from_slice(&tag.to_le_bytes());
    body.extend_from_slice(&channels.to_le_bytes());
    body.extend_from_slice(&rate.to_le_bytes());
    body.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    body.extend_from_slice(&block.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    if data.len() % 2 == 1 {
        body.push(0);
    }
    body.extend_from_slice(after_data);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}
