"""privox.Smile: opensmile-python's interface and DataFrame layout, bad input."""

import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import privox
from conftest import demo_files


def test_columns_and_index_layout():
    files = demo_files(3)
    df = privox.Smile("eGeMAPSv02", "functionals").process_files(files)
    assert list(df.columns) == list(privox.FEATURE_NAMES)
    assert len(df.columns) == 88
    assert df.columns[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    assert df.columns[-1] == "equivalentSoundLevel_dBp"
    assert list(df.index.names) == ["file", "start", "end"]
    assert list(df.index.get_level_values("file")) == files
    assert (df.index.get_level_values("start") == pd.Timedelta(0)).all()
    assert str(df.index.get_level_values("start").dtype) == "timedelta64[ns]"
    assert str(df.index.get_level_values("end").dtype) == "timedelta64[ns]"
    assert set(df.dtypes) == {np.dtype("float32")}
    assert np.isfinite(df.to_numpy()).all()
    # The end is the file's duration, as opensmile-python reports it.
    signal, rate = privox.read_audio(files[0])
    assert df.index[0][2] == pd.to_timedelta(len(signal) / rate, unit="s")


def test_lld_frames():
    f = demo_files(1)[0]
    lld = privox.Smile(feature_level="lld").process_file(f)
    assert list(lld.columns) == list(privox.LLD_NAMES)
    assert len(lld.columns) == 25
    starts = lld.index.get_level_values("start")
    ends = lld.index.get_level_values("end")
    assert starts[0] == pd.Timedelta(0) and starts[1] == pd.Timedelta("10ms")
    assert ends[0] == pd.Timedelta("20ms")
    signal, rate = privox.read_audio(f)
    assert ends[-1] == pd.to_timedelta(len(signal) / rate, unit="s")
    # 10 ms hop over the whole file.
    assert abs(len(lld) - len(signal) / rate / 0.01) < 6


def test_file_signal_and_functionals_agree():
    f = demo_files(1)[0]
    smile = privox.Smile()
    by_file = smile.process_file(f)
    signal, rate = privox.read_audio(f)
    by_signal = smile.process_signal(signal, rate)
    assert list(by_signal.index.names) == ["start", "end"]
    np.testing.assert_array_equal(by_file.to_numpy(), by_signal.to_numpy())
    named = smile.process_signal(signal, rate, file="x.wav")
    assert named.index[0][0] == "x.wav"
    # 2-D (channels, samples): channel 0 by default, like opensmile-python.
    two = np.stack([signal, np.zeros_like(signal)])
    np.testing.assert_array_equal(smile.process_signal(two, rate).to_numpy(), by_signal.to_numpy())
    # float64 input is accepted.
    np.testing.assert_array_equal(
        smile.process_signal(signal.astype(np.float64), rate).to_numpy(), by_signal.to_numpy()
    )


def test_segments():
    f = demo_files(1)[0]
    smile = privox.Smile()
    seg = smile.process_file(f, start=0.2, end=1.0)
    assert seg.index[0][1:] == (pd.Timedelta("200ms"), pd.Timedelta("1s"))
    whole = smile.process_file(f)
    assert not np.allclose(seg.to_numpy(), whole.to_numpy())


def test_opensmile_enums_by_value_are_accepted():
    class FeatureSet:  # stand-ins with opensmile-python's enum values
        value = "egemaps/v02/eGeMAPSv02"

    s = privox.Smile(FeatureSet.value, "func")
    assert s.feature_level is privox.FeatureLevel.Functionals
    with pytest.raises(ValueError, match="eGeMAPSv02 only"):
        privox.Smile("ComParE_2016")
    with pytest.raises(ValueError, match="functionals"):
        privox.Smile(feature_level="deltas")


def test_parallel_workers_give_identical_rows():
    files = demo_files(6)
    one = privox.Smile(num_workers=1).process_files(files)
    two = privox.Smile(num_workers=2).process_files(files)
    pd.testing.assert_frame_equal(one, two)


def test_bad_inputs_raise_typed_errors(bad_inputs):
    smile = privox.Smile()
    for name in ("corrupt", "text"):
        with pytest.raises(privox.AudioError) as e:
            smile.process_file(bad_inputs[name])
        assert not isinstance(e.value, privox.TooShortError)
        assert e.value.file == bad_inputs[name]
        assert bad_inputs[name] in str(e.value)
        assert e.value.cause and e.value.cause in str(e.value)
    with pytest.raises(privox.TooShortError) as e:
        smile.process_file(bad_inputs["short"])
    assert e.value.file == bad_inputs["short"]
    assert "60 ms" in str(e.value)
    assert isinstance(e.value, privox.AudioError)
    assert isinstance(e.value, privox.PrivoxError)
    with pytest.raises(privox.AudioError, match="cannot read"):
        smile.process_file("/nonexistent/file.wav")
    with pytest.raises(privox.TooShortError):
        smile.process_signal(np.zeros(100, dtype=np.float32), 16000)
    with pytest.raises(privox.AudioError, match="below"):
        smile.process_signal(np.zeros(16000, dtype=np.float32), 4000)
    with pytest.raises(privox.AudioError, match="not finite"):
        smile.process_signal(np.full(16000, np.nan, dtype=np.float32), 16000)


def test_process_files_skip_errors_reports(bad_inputs):
    good = demo_files(2)
    inputs = [good[0], bad_inputs["corrupt"], bad_inputs["short"], good[1], bad_inputs["text"]]
    smile = privox.Smile()
    with pytest.raises(privox.AudioError) as e:
        smile.process_files(inputs)
    assert e.value.file == bad_inputs["corrupt"]  # the first bad one, in input order
    with pytest.warns(privox.SkippedFilesWarning, match="skipped 3 of 5 files"):
        df = smile.process_files(inputs, skip_errors=True)
    assert list(df.index.get_level_values("file")) == good
    assert [e.file for e in smile.last_errors] == [
        bad_inputs["corrupt"],
        bad_inputs["short"],
        bad_inputs["text"],
    ]
    assert isinstance(smile.last_errors[1], privox.TooShortError)
    expected = smile.process_files(good)
    pd.testing.assert_frame_equal(df, expected)


def test_extraction_releases_the_gil():
    """While one thread extracts, another Python thread keeps running: the
    longest pause it sees is a small fraction of the extraction time (with
    the GIL held it would be all of it). Load-independent; the measured
    2-thread speed-up is in bench/python/RESULTS.md."""
    files = demo_files(16)
    smile = privox.Smile()
    smile.process_files(files[:1])  # warm up
    done = threading.Event()
    span = {}

    def work():
        span["start"] = time.perf_counter()
        smile.process_files(files)
        span["end"] = time.perf_counter()
        done.set()

    th = threading.Thread(target=work)
    stamps = []
    th.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    th.join()
    inside = [t for t in stamps if span["start"] <= t <= span["end"]]
    duration = span["end"] - span["start"]
    gaps = np.diff([span["start"], *inside, span["end"]])
    print(f"extraction {duration:.3f} s, {len(inside)} ticks of the other thread, longest pause {gaps.max():.4f} s")
    assert len(inside) > 100
    assert gaps.max() < 0.5 * duration


def test_two_threads_give_the_same_rows():
    files = demo_files(8)
    halves = [files[0::2], files[1::2]]
    out = [None, None]

    def run(i):
        out[i] = privox.Smile().process_files(halves[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    both = pd.concat(out).loc[files]
    pd.testing.assert_frame_equal(both, privox.Smile().process_files(files))


def test_warnings_are_not_errors():
    # A normal file gives no warning at all.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        privox.Smile().process_files(demo_files(1))
