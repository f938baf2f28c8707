"""privox.ray.extract on a local 2-worker Ray cluster equals the single-process output."""

import time

import pandas as pd
import pytest

import privox
import privox.ray
from conftest import demo_files

ray = pytest.importorskip("ray", reason="Ray is the optional extra privox[ray]; not installed")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    # Quiet progress bars in the test log.
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def test_ray_extract_equals_single_process(cluster):
    files = demo_files()  # the whole demo corpus
    t = time.perf_counter()
    single = privox.Smile().process_files(files)
    t_single = time.perf_counter() - t
    t = time.perf_counter()
    distributed = privox.ray.extract(files, batch_size=8, num_cpus=1, concurrency=2)
    t_ray = time.perf_counter() - t
    print(f"{len(files)} files: single process {t_single:.2f} s, Ray 2 workers {t_ray:.2f} s")
    assert len(distributed) == len(files) == 206
    pd.testing.assert_frame_equal(distributed, single)


def test_ray_lld_and_dataset_input(cluster, bad_inputs):
    files = demo_files(3)
    lld = privox.ray.extract(files, feature_level="lld", batch_size=2)
    pd.testing.assert_frame_equal(lld, privox.Smile(feature_level="lld").process_files(files))
    ds = ray.data.from_items([{"audio": f} for f in files + [bad_inputs["text"]]])
    rows = privox.ray.extract(ds, path_column="audio", output="dataset", skip_errors=True)
    got = rows.to_pandas()
    assert sorted(got["file"]) == sorted(files)
    assert list(got.columns[:3]) == ["file", "start", "end"]
    with pytest.raises(Exception, match="not a recognised audio file"):
        privox.ray.extract([files[0], bad_inputs["text"]])
