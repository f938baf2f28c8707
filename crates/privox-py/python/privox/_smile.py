"""``privox.Smile``: a drop-in for opensmile-python's eGeMAPSv02 extractor.

The DataFrames have the same MultiIndex (``file``, ``start``, ``end``, with
``start``/``end`` as ``timedelta64[ns]``), the same columns in the same order
and the same dtype (float32) as ``opensmile.Smile(FeatureSet.eGeMAPSv02, ...)``.
The numbers come from privox's pure-Rust extractor (see docs/python.md).
"""

from __future__ import annotations

import enum
import os
import warnings
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from privox import _privox

Time = Union[float, int, str, pd.Timedelta, None]

__all__ = ["Smile", "FeatureSet", "FeatureLevel", "SkippedFilesWarning", "read_audio"]


class FeatureSet(enum.Enum):
    """Feature sets privox extracts (only eGeMAPS v02)."""

    eGeMAPSv02 = "eGeMAPSv02"


class FeatureLevel(enum.Enum):
    """Output level: one row of 88 functionals per input, or 25 LLDs per 10 ms frame."""

    Functionals = "functionals"
    LowLevelDescriptors = "lld"


class SkippedFilesWarning(UserWarning):
    """``process_files(..., skip_errors=True)`` skipped some inputs (see ``Smile.last_errors``)."""


# Names accepted for the feature set and level: privox's own, opensmile-python's
# enum values and names (so ``opensmile.FeatureSet.eGeMAPSv02`` works too).
_SETS = {"egemapsv02", "egemaps/v02/egemapsv02"}
_LEVELS = {
    "functionals": FeatureLevel.Functionals,
    "func": FeatureLevel.Functionals,
    "lld": FeatureLevel.LowLevelDescriptors,
    "lowleveldescriptors": FeatureLevel.LowLevelDescriptors,
}


def _name(x: Any) -> str:
    if isinstance(x, enum.Enum):
        return str(x.value)
    return str(x)


def _seconds(t: Time) -> Optional[float]:
    if t is None:
        return None
    if isinstance(t, pd.Timedelta):
        return t.total_seconds()
    if isinstance(t, str):
        return pd.to_timedelta(t).total_seconds()
    return float(t)


def _timedeltas(seconds: np.ndarray) -> pd.TimedeltaIndex:
    # The same conversion opensmile-python applies to openSMILE's times, at
    # its nanosecond resolution (pandas >= 3 would infer microseconds for
    # an all-zero column).
    td = pd.to_timedelta(seconds, unit="s")
    return td.as_unit("ns") if hasattr(td, "as_unit") else td


def _raise_for(failure: tuple) -> None:
    raise _exception(failure)


def _exception(failure: tuple) -> Exception:
    _index, name, kind, message, cause = failure
    cls = _privox.TooShortError if kind == "too_short" else _privox.AudioError
    err = cls(message)
    err.file = name
    err.cause = cause
    return err


def read_audio(path: Union[str, os.PathLike], max_duration: float = 4 * 3600.0):
    """Decodes a WAV/FLAC/OGG/MP3 file to ``(samples, sampling_rate)``: mono
    float32 samples where int16 full scale is 1.0 (channels are averaged).
    Raises ``AudioError`` (with ``file`` and ``cause``) on bad input."""
    return _privox.read_audio(os.fspath(path), max_duration)


class Smile:
    """eGeMAPS v02 extraction with opensmile-python's interface.

    Args:
        feature_set: ``"eGeMAPSv02"`` (also accepts ``opensmile.FeatureSet.eGeMAPSv02``).
        feature_level: ``"functionals"`` or ``"lld"`` (also ``"func"`` and
            opensmile-python's ``FeatureLevel`` members).
        num_workers: files extracted at once by ``process_files`` (native
            threads; 1 runs in the calling thread). ``None``: all cores.
        channels: for 2-D signals in ``process_signal``, the channel to use
            (opensmile-python's default 0). Files are always mixed down to mono.
        mixdown: average all channels of a 2-D signal instead.
        max_duration: longer recordings are refused (protects against corrupt headers).

    Every extraction releases the GIL, so Python threads run in parallel.
    """

    def __init__(
        self,
        feature_set: Union[str, Any] = FeatureSet.eGeMAPSv02,
        feature_level: Union[str, Any] = FeatureLevel.Functionals,
        *,
        num_workers: Optional[int] = 1,
        channels: int = 0,
        mixdown: bool = False,
        max_duration: float = 4 * 3600.0,
    ) -> None:
        if _name(feature_set).lower() not in _SETS:
            raise ValueError(
                f"feature set {_name(feature_set)!r} is not available: privox extracts "
                "eGeMAPSv02 only (pass feature_set='eGeMAPSv02')"
            )
        level = _LEVELS.get(_name(feature_level).lower())
        if level is None and isinstance(feature_level, enum.Enum):
            level = _LEVELS.get(feature_level.name.lower())
        if level is None:
            raise ValueError(
                f"feature level {_name(feature_level)!r} is not available: use "
                "'functionals' or 'lld'"
            )
        if num_workers is None:
            num_workers = os.cpu_count() or 1
        if int(num_workers) < 1:
            raise ValueError("num_workers must be at least 1 (or None for all cores)")
        if not isinstance(channels, (int, np.integer)):
            raise ValueError("channels must be one channel index; use mixdown=True to average channels")
        self.feature_set = FeatureSet.eGeMAPSv02
        self.feature_level = level
        self.num_workers = int(num_workers)
        self.channels = int(channels)
        self.mixdown = bool(mixdown)
        self.max_duration = float(max_duration)
        #: ``AudioError`` instances of the inputs the last
        #: ``process_files(..., skip_errors=True)`` skipped, in input order.
        self.last_errors: list = []

    @property
    def _lld(self) -> bool:
        return self.feature_level is FeatureLevel.LowLevelDescriptors

    @property
    def feature_names(self) -> list:
        """Column names, in openSMILE's order."""
        return list(_privox.LLD_NAMES if self._lld else _privox.FEATURE_NAMES)

    @property
    def column_names(self) -> list:
        """The same as ``feature_names`` (one channel)."""
        return self.feature_names

    @property
    def num_features(self) -> int:
        """88 functionals or 25 LLDs."""
        return len(self.feature_names)

    def __repr__(self) -> str:
        return (
            f"privox.Smile(feature_set='eGeMAPSv02', feature_level='{self.feature_level.value}', "
            f"num_workers={self.num_workers})"
        )

    # -- building the DataFrame ------------------------------------------------

    def _frame(self, packed, names: Sequence[str], with_file: bool = True) -> pd.DataFrame:
        values, item, start, end, _failures, _warnings = packed
        starts = _timedeltas(start)
        ends = _timedeltas(end)
        if with_file:
            files = np.asarray(list(names), dtype=object)[item] if len(item) else np.array([], dtype=object)
            index = pd.MultiIndex.from_arrays([files, starts, ends], names=["file", "start", "end"])
        else:
            index = pd.MultiIndex.from_arrays([starts, ends], names=["start", "end"])
        return pd.DataFrame(values, index=index, columns=self.feature_names, copy=False)

    @staticmethod
    def _warn(packed, names: Sequence[str]) -> None:
        for i, w in packed[5]:
            warnings.warn(f"{names[i]}: {w}", UserWarning, stacklevel=3)

    # -- opensmile-python's interface ------------------------------------------

    def process_file(
        self,
        file: Union[str, os.PathLike],
        *,
        start: Time = None,
        end: Time = None,
        root: Optional[str] = None,
    ) -> pd.DataFrame:
        """Features of one audio file (WAV, FLAC, OGG/Vorbis, MP3).

        ``start``/``end`` (seconds, or a ``pd.Timedelta``/string) restrict the
        extraction to a segment, as in opensmile-python. Raises ``AudioError``
        (``TooShortError`` under 60 ms) naming the file.
        """
        return self.process_files([file], starts=start, ends=end, root=root)

    def process_files(
        self,
        files: Sequence[Union[str, os.PathLike]],
        *,
        starts: Union[Time, Sequence[Time]] = None,
        ends: Union[Time, Sequence[Time]] = None,
        root: Optional[str] = None,
        skip_errors: bool = False,
    ) -> pd.DataFrame:
        """Features of several files, one after another in the index.

        With ``skip_errors=True`` a file that cannot be decoded or is too
        short gets no rows; the skipped files are reported in one
        ``SkippedFilesWarning`` and kept in ``self.last_errors`` (``AudioError``
        objects with ``file`` and ``cause``). Otherwise the first bad file
        (in input order) raises.
        """
        if isinstance(files, (str, os.PathLike)):
            raise TypeError("process_files takes a sequence of files; use process_file for one")
        names = [os.fspath(f) for f in files]
        paths = [os.path.join(root, n) if root else n for n in names]
        self.last_errors = []
        if starts is None and ends is None:
            return self._whole_files(names, paths, skip_errors)[0]
        return self._process_segments(names, paths, starts, ends, skip_errors)

    def _whole_files(self, names, paths, skip_errors):
        """The DataFrame, and for each row the position of its input in ``names``."""
        packed = _privox.extract_files(paths, names, self._lld, self.num_workers, self.max_duration)
        failures = packed[4]
        if failures and not skip_errors:
            _raise_for(failures[0])
        self._warn(packed, names)
        if failures:
            self.last_errors = [_exception(f) for f in failures]
            warnings.warn(
                SkippedFilesWarning(
                    f"skipped {len(failures)} of {len(names)} files: "
                    + "; ".join(f[3] for f in failures)
                ),
                stacklevel=4,
            )
        return self._frame(packed, names), packed[1]

    def _process_segments(self, names, paths, starts, ends, skip_errors) -> pd.DataFrame:
        n = len(names)

        def per_file(v):
            if v is None or isinstance(v, (str, int, float, pd.Timedelta)):
                return [v] * n
            v = list(v)
            if len(v) != n:
                raise ValueError(f"{len(v)} starts/ends for {n} files")
            return v

        frames = []
        for name, path, s, e in zip(names, paths, per_file(starts), per_file(ends)):
            try:
                signal, rate = _privox.read_audio(path, self.max_duration)
                frames.append(self._segment(signal, rate, name, s, e))
            except _privox.AudioError as err:
                if not skip_errors:
                    raise
                self.last_errors.append(err)
        if self.last_errors:
            warnings.warn(
                SkippedFilesWarning(
                    f"skipped {len(self.last_errors)} of {n} files: "
                    + "; ".join(str(x) for x in self.last_errors)
                ),
                stacklevel=3,
            )
        if not frames:
            return self._frame(_privox.extract_files([], [], self._lld, 1, self.max_duration), [])
        return pd.concat(frames)

    def _segment(self, signal: np.ndarray, rate: int, name: Optional[str], start: Time, end: Time, with_file: bool = True) -> pd.DataFrame:
        s = _seconds(start) or 0.0
        e = _seconds(end)
        total = signal.shape[-1] / rate
        if s < 0 or (e is not None and e < s):
            raise ValueError(f"invalid segment start={start!r} end={end!r}")
        lo = int(round(s * rate))
        hi = signal.shape[-1] if e is None else min(int(round(e * rate)), signal.shape[-1])
        packed = _privox.extract_signal_array(
            np.ascontiguousarray(signal[lo:hi], dtype=np.float32), int(rate), name or "<signal>", self._lld
        )
        if packed[4]:
            _raise_for(packed[4][0])
        self._warn(packed, [name or "<signal>"])
        values, item, st, en, f, w = packed
        # Times relative to the file, the segment's end as given (like opensmile-python).
        st = st + s
        en = en + s
        if len(en):
            en[-1] = total if e is None else e
        return self._frame((values, item, st, en, f, w), [name], with_file=with_file)

    def process_signal(
        self,
        signal: np.ndarray,
        sampling_rate: int,
        *,
        file: Optional[str] = None,
        start: Time = None,
        end: Time = None,
    ) -> pd.DataFrame:
        """Features of a signal: 1-D ``(samples,)`` or 2-D ``(channels, samples)``,
        float with int16 full scale = 1.0 (what ``audiofile.read`` or
        ``privox.read_audio`` return). The index is (``start``, ``end``), or
        (``file``, ``start``, ``end``) when ``file`` is given.
        """
        x = np.asarray(signal)
        if x.ndim == 2:
            if self.mixdown:
                x = x.mean(axis=0)
            else:
                if not 0 <= self.channels < x.shape[0]:
                    raise ValueError(f"channel {self.channels} does not exist in a {x.shape[0]}-channel signal")
                x = x[self.channels]
        elif x.ndim != 1:
            raise ValueError(f"signal must be (samples,) or (channels, samples), not shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"signal must be numeric, not {x.dtype}")
        return self._segment(x, int(sampling_rate), file, start, end, with_file=file is not None)
