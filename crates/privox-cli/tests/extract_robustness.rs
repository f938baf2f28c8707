//! Issue 2, acceptance criterion 4: every awkward input goes through the real
//! `privox extract` binary (decode -> extract -> CSV). None may crash; each
//! yields a feature row or a clear per-file error naming the file and the problem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const F0_HZ: f64 = 200.0;

/// A voiced-like harmonic complex at `F0_HZ` with a smooth amplitude envelope,
/// quantised to int16 so every container below can hold exactly the same values.
fn harmonic_i16(rate: u32, secs: f64, gain: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let env = (std::f64::consts::PI * t / secs).sin().powf(0.3);
            let mut v = 0.0;
            for h in 1..=5 {
                let f = F0_HZ * h as f64;
                if f < f64::from(rate) / 2.0 {
                    v += (2.0 * std::f64::consts::PI * f * t).sin() / h as f64;
                }
            }
            (gain * env * v * 0.25 * 32_767.0)
                .round()
                .clamp(-32_768.0, 32_767.0) as i16
        })
        .collect()
}

#[path = "../../privox-audio/tests/common/mod.rs"]
mod audio_common;
use audio_common::wav_with_trailer as wav;

fn pcm16(rate: u32, s: &[i16]) -> Vec<u8> {
    wav(
        1,
        1,
        rate,
        16,
        &s.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
        &[],
    )
}

struct Run {
    code: i32,
    stderr: String,
    rows: HashMap<String, Vec<f64>>,
    header: Vec<String>,
}

fn run_extract(dir: &Path) -> Run {
    let out = dir.join("out/features.csv");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_privox"))
        .args(["extract", "-q", "--jobs", "2", "-o"])
        .arg(&out)
        .arg(dir.join("in"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let text =
        std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("no CSV ({e}); stderr:\n{stderr}"));
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let name = Path::new(cells[0])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                cells[3..]
                    .iter()
                    .map(|c| c.parse::<f64>().unwrap())
                    .collect(),
            )
        })
        .collect();
    Run {
        code: o.status.code().unwrap_or(-1),
        stderr,
        rows,
        header,
    }
}

fn col(run: &Run, name: &str) -> usize {
    run.header.iter().position(|h| h == name).unwrap() - 3
}

#[test]
fn awkward_inputs_give_features_or_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    let base = harmonic_i16(16_000, 1.0, 1.0);
    let base_bytes: Vec<u8> = base.iter().flat_map(|v| v.to_le_bytes()).collect();
    put("base_16k.wav", &pcm16(16_000, &base));
    // The same int16 values in other containers must give *identical* features.
    let s24: Vec<u8> = base
        .iter()
        .flat_map(|&v| {
            let b = (i32::from(v) << 8).to_le_bytes();
            [b[0], b[1], b[2]]
        })
        .collect();
    put("same_24bit.wav", &wav(1, 1, 16_000, 24, &s24, &[]));
    let f32s: Vec<u8> = base
        .iter()
        .flat_map(|&v| (f32::from(v) / 32_768.0).to_le_bytes())
        .collect();
    put("same_float32.wav", &wav(3, 1, 16_000, 32, &f32s, &[]));
    let f64s: Vec<u8> = base
        .iter()
        .flat_map(|&v| (f64::from(v) / 32_768.0).to_le_bytes())
        .collect();
    put("same_float64.wav", &wav(3, 1, 16_000, 64, &f64s, &[]));
    let stereo: Vec<u8> = base
        .iter()
        .flat_map(|v| {
            let b = v.to_le_bytes();
            [b[0], b[1], b[0], b[1]]
        })
        .collect();
    put("same_stereo.wav", &wav(1, 2, 16_000, 16, &stereo, &[]));
    let mut after = b"LIST".to_vec();
    after.extend_from_slice(&13u32.to_le_bytes());
    after.extend_from_slice(b"INFOICMT\x05\0\0\0hi!\0\0");
    after.extend_from_slice(b"id3 \x03\0\0\0abc\0");
    put(
        "same_chunks_after_data.wav",
        &wav(1, 1, 16_000, 16, &base_bytes, &after),
    );

    for rate in [8_000, 22_050, 44_100, 48_000] {
        put(
            &format!("rate_{rate}.wav"),
            &pcm16(rate, &harmonic_i16(rate, 1.0, 1.0)),
        );
    }
    put(
        "clip_0.5s.wav",
        &pcm16(16_000, &harmonic_i16(16_000, 0.5, 1.0)),
    );
    put(
        "clip_0.05s.wav",
        &pcm16(16_000, &harmonic_i16(16_000, 0.05, 1.0)),
    );
    put("silence.wav", &pcm16(16_000, &vec![0; 16_000]));
    put(
        "clipping.wav",
        &pcm16(16_000, &harmonic_i16(16_000, 1.0, 8.0)),
    );
    let dc: Vec<i16> = base.iter().map(|&v| v.saturating_add(6_000)).collect();
    put("dc_offset.wav", &pcm16(16_000, &dc));
    let mut truncated = pcm16(16_000, &base);
    truncated.truncate(truncated.len() - 8_001);
    put("truncated.wav", &truncated);
    put("empty.wav", b"");
    let mut corrupt = pcm16(16_000, &base);
    corrupt[22..24].copy_from_slice(&0u16.to_le_bytes()); // 0 channels
    put("corrupt_header.wav", &corrupt);
    put(
        "not_audio.wav",
        b"<html><body>404 Not Found</body></html>\n",
    );
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/wav/14a07Na.wav");
    std::fs::copy(&demo, dir.join("demo_pad_chunk.wav")).unwrap();

    let run = run_extract(tmp.path());
    let s = &run.stderr;

    // Failures: named, explained, and the exit code says so.
    assert_ne!(run.code, 0, "failures must give a non-zero exit code");
    let line_for = |file: &str| -> String {
        s.lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no message for {file}:\n{s}"))
            .to_string()
    };
    assert!(
        line_for("empty.wav").starts_with("failed: ")
            && line_for("empty.wav").contains("the file is empty")
    );
    assert!(line_for("corrupt_header.wav").contains("corrupt WAV header: 0 channels"));
    assert!(line_for("not_audio.wav").contains("not a recognised audio file"));
    let short = line_for("clip_0.05s.wav");
    assert!(
        short.starts_with("too short: ") && short.contains("60 ms"),
        "{short}"
    );
    assert!(
        line_for("truncated.wav").starts_with("warning: ")
            && line_for("truncated.wav").contains("truncated data chunk")
    );
    assert!(
        s.lines()
            .last()
            .unwrap()
            .contains("20 files: 16 ok, 3 failed, 1 too short"),
        "{s}"
    );
    for bad in [
        "empty.wav",
        "corrupt_header.wav",
        "not_audio.wav",
        "clip_0.05s.wav",
    ] {
        assert!(!run.rows.contains_key(bad), "{bad} must have no row");
    }
    assert_eq!(run.rows.len(), 16);
    for (name, row) in &run.rows {
        assert_eq!(row.len(), 88, "{name}");
        assert!(
            row.iter().all(|v| v.is_finite()),
            "{name}: non-finite feature"
        );
    }

    // Same samples, different container: bit-identical features.
    let base_row = &run.rows["base_16k.wav"];
    for same in [
        "same_24bit.wav",
        "same_float32.wav",
        "same_float64.wav",
        "same_stereo.wav",
        "same_chunks_after_data.wav",
    ] {
        assert_eq!(
            &run.rows[same], base_row,
            "{same} differs from the 16-bit original"
        );
    }

    // Known F0 where the signal is voiced.
    let f0 = col(&run, "F0semitoneFrom27.5Hz_sma3nz_amean");
    let expected_st = 12.0 * (F0_HZ / 27.5).log2();
    for name in [
        "base_16k.wav",
        "rate_8000.wav",
        "rate_22050.wav",
        "rate_44100.wav",
        "rate_48000.wav",
        "clip_0.5s.wav",
        "dc_offset.wav",
        "truncated.wav",
        "clipping.wav",
    ] {
        let got = run.rows[name][f0];
        assert!(
            (got - expected_st).abs() < 0.5,
            "{name}: F0 {got} st, expected {expected_st}"
        );
    }
    // Silence: nothing voiced, (almost) no loudness.
    let silence = &run.rows["silence.wav"];
    assert_eq!(silence[f0], 0.0);
    assert_eq!(silence[col(&run, "VoicedSegmentsPerSec")], 0.0);
    let sl = silence[col(&run, "loudness_sma3_amean")];
    // openSMILE's auditory spectrum has a floor of ~0.001 on digital silence (spec 4.8).
    assert!(sl < 2e-3, "silence loudness {sl}");
    // Clipping is louder than the clean signal.
    let loud = col(&run, "loudness_sma3_amean");
    assert!(run.rows["clipping.wav"][loud] > base_row[loud]);
    // The bundled file with a PAD chunk extracts.
    assert!(run.rows["demo_pad_chunk.wav"][loud] > 0.0);
}

#[test]
fn manifest_rows_carry_speaker_and_label_and_lld_files_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let wavs = tmp.path().join("audio");
    std::fs::create_dir_all(&wavs).unwrap();
    std::fs::write(
        wavs.join("a.wav"),
        pcm16(16_000, &harmonic_i16(16_000, 0.5, 1.0)),
    )
    .unwrap();
    std::fs::write(
        wavs.join("b.wav"),
        pcm16(8_000, &harmonic_i16(8_000, 0.5, 0.5)),
    )
    .unwrap();
    let manifest = tmp.path().join("labels.csv");
    std::fs::write(
        &manifest,
        "file,speaker,emotion\naudio/a.wav,s1,angry\naudio/b.wav,s2,neutral\n",
    )
    .unwrap();
    let out = tmp.path().join("f.csv");
    let llds = tmp.path().join("llds");
    let o = Command::new(env!("CARGO_BIN_EXE_privox"))
        .args(["extract", "-q", "--manifest"])
        .arg(&manifest)
        .arg("-o")
        .arg(&out)
        .arg("--lld-dir")
        .arg(&llds)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("file,speaker,label,F0semitoneFrom27.5Hz_sma3nz_amean,"));
    assert_eq!(lines[0].split(',').count(), 91);
    assert!(lines[1].starts_with("audio/a.wav,s1,angry,"));
    assert!(lines[2].starts_with("audio/b.wav,s2,neutral,"));
    let lld: PathBuf = llds.join("audio/a.csv");
    let lld_text = std::fs::read_to_string(&lld).unwrap();
    assert!(lld_text.starts_with("frameTime,Loudness_sma3,"));
    assert!(lld_text.lines().count() > 40, "0.5 s at 10 ms hop");
    // No temp files left next to the output.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn no_inputs_is_a_usage_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_privox"))
        .args(["extract", "-o", "/nonexistent/x.csv"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to extract"));
    let o = Command::new(env!("CARGO_BIN_EXE_privox"))
        .args(["extract", "some.wav", "-o", "/nonexistent-dir/x.csv"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("output folder /nonexistent-dir does not exist")
    );
}
