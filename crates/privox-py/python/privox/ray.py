"""Corpus-scale eGeMAPS extraction on Ray (``pip install privox[ray]``).

:func:`extract` runs :class:`privox.Smile` through Ray Data's
``map_batches`` on whatever cluster ``ray.init()`` connected to (a laptop,
or many nodes: ``ray.init(address="auto")`` on a cluster node). Ray is an
optional extra; importing this module does not import Ray, calling
:func:`extract` does.

The audio files must be readable at the same paths on every node (a shared
file system or object-store mount), or be given as a Ray Dataset whose
``path`` column the workers can open.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

__all__ = ["extract"]

_ORDER = "__privox_order"
_ROW = "__privox_row"


def _ray():
    try:
        import ray  # noqa: F401
        import ray.data
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "privox.ray needs Ray Data: pip install 'privox[ray]' (or pip install 'ray[data]')"
        ) from e
    return ray


def _extract_batch(
    batch: pd.DataFrame,
    *,
    path_column: str,
    feature_level: str,
    skip_errors: bool,
    threads: int,
) -> pd.DataFrame:
    """One Ray Data batch of paths to flat rows (file, start_s, end_s, features)."""
    import privox

    smile = privox.Smile(feature_level=feature_level, num_workers=threads)
    paths = [str(p) for p in batch[path_column]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", privox.SkippedFilesWarning)
        df, item = smile._whole_files(paths, paths, skip_errors)
    out = pd.DataFrame(
        {
            "file": df.index.get_level_values("file").astype(str),
            # timedelta64[ns] (Arrow duration[ns]): exact, no float round trip.
            "start": df.index.get_level_values("start").to_numpy(),
            "end": df.index.get_level_values("end").to_numpy(),
        }
    )
    if _ORDER in batch:
        out[_ORDER] = batch[_ORDER].to_numpy()[item]
    out[_ROW] = np.arange(len(out), dtype=np.int64)
    values = pd.DataFrame(df.to_numpy(), columns=df.columns)
    return pd.concat([out, values], axis=1)


def extract(
    paths_or_dataset: Union[Iterable[Union[str, os.PathLike]], Any],
    *,
    feature_level: str = "functionals",
    path_column: str = "path",
    batch_size: int = 16,
    num_cpus: float = 1,
    concurrency: Optional[int] = None,
    skip_errors: bool = False,
    output: str = "pandas",
):
    """Extracts eGeMAPS v02 features of many files with Ray Data.

    Args:
        paths_or_dataset: audio paths, or a ``ray.data.Dataset`` with a
            ``path_column`` of paths.
        feature_level: ``"functionals"`` or ``"lld"``.
        batch_size: files per ``map_batches`` call.
        num_cpus: CPUs reserved per batch task (the extractor uses that many
            threads, rounded down, at least 1).
        concurrency: at most this many batch tasks at once (Ray's default: as
            many as the cluster's CPUs allow).
        skip_errors: drop bad files instead of failing the job.
        output: ``"pandas"`` (default) returns a DataFrame indexed exactly like
            ``privox.Smile().process_files(paths)``, rows in input order;
            ``"dataset"`` returns the lazy Ray Dataset of flat rows (``file``,
            ``start``, ``end`` as durations, and the feature columns; row order
            is Ray's).
    """
    ray = _ray()
    if output not in ("pandas", "dataset"):
        raise ValueError("output must be 'pandas' or 'dataset'")
    if isinstance(paths_or_dataset, ray.data.Dataset):
        ds = paths_or_dataset
        if path_column not in ds.columns():
            raise ValueError(f"the dataset has no {path_column!r} column (columns: {ds.columns()})")
        keep_order = False
    else:
        paths = [os.fspath(p) for p in paths_or_dataset]
        if not paths:
            raise ValueError("no paths given")
        ds = ray.data.from_items([{path_column: p, _ORDER: i} for i, p in enumerate(paths)])
        keep_order = True
    threads = max(1, int(num_cpus))
    kwargs = dict(
        fn_kwargs={
            "path_column": path_column,
            "feature_level": feature_level,
            "skip_errors": skip_errors,
            "threads": threads,
        },
        batch_size=batch_size,
        batch_format="pandas",
        num_cpus=num_cpus,
    )
    if concurrency is not None:
        if hasattr(ray.data, "TaskPoolStrategy"):  # Ray >= 2.51 (`concurrency` deprecated)
            kwargs["compute"] = ray.data.TaskPoolStrategy(size=concurrency)
        else:
            kwargs["concurrency"] = concurrency
    out = ds.map_batches(_extract_batch, **kwargs)
    if output == "dataset":
        return out
    df = out.to_pandas()
    if keep_order:
        df = df.sort_values([_ORDER, _ROW], kind="stable")
    index = pd.MultiIndex.from_arrays(
        [
            df["file"].to_numpy(dtype=object),
            pd.TimedeltaIndex(df["start"]),
            pd.TimedeltaIndex(df["end"]),
        ],
        names=["file", "start", "end"],
    )
    drop = ["file", "start", "end", _ROW] + ([_ORDER] if _ORDER in df else [])
    result = df.drop(columns=drop)
    result.index = index
    return result.astype(np.float32)
