"""Type stubs of the native module privox._privox (Rust, PyO3)."""

from os import PathLike
from pathlib import Path
from typing import Optional, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, PathLike[str]]
_Array = npt.ArrayLike

__version__: str
FEATURE_NAMES: list[str]
LLD_NAMES: list[str]
MIN_SAMPLE_RATE: int
MAX_SAMPLE_RATE: int

class PrivoxError(Exception):
    """Base class of every error raised by privox."""

class AudioError(PrivoxError):
    """A recording could not be read, decoded or analysed."""

    file: Optional[str]
    cause: str

class TooShortError(AudioError):
    """The recording is shorter than one 60 ms pitch frame: no functionals exist."""

class FeatureError(PrivoxError):
    """NaN/infinite feature values, or the wrong number of features."""

class FileFormatError(PrivoxError):
    """A privox file is malformed, truncated or of another kind."""

class KeyFormatError(FileFormatError):
    """A key file is malformed, truncated, or a key of another kind."""

class HeError(PrivoxError):
    """Encrypted inference failed (keys/queries/responses of another plan, CKKS errors)."""

_Packed = tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    list[tuple[int, str, str, str, str]],
    list[tuple[int, str]],
]

def extract_files(
    paths: list[str],
    names: list[str],
    lld: bool = False,
    num_workers: int = 1,
    max_duration: float = 14400.0,
) -> _Packed: ...
def extract_signal_array(
    signal: npt.NDArray[np.float32], sampling_rate: int, name: str, lld: bool = False
) -> _Packed: ...
def read_audio(path: _Path, max_duration: float = 14400.0) -> tuple[npt.NDArray[np.float32], int]: ...

class SmhKey:
    """A secret SMH key; files are the CLI's (`privox smh keygen`)."""

    @staticmethod
    def generate(
        k: int = 3, delta: float = 2.0, mpc: int = 32, dim: int = 88, seed: Optional[int] = None
    ) -> SmhKey: ...
    @staticmethod
    def load(path: _Path) -> SmhKey: ...
    def save(self, path: _Path) -> None: ...
    @property
    def k(self) -> int: ...
    @property
    def delta(self) -> float: ...
    @property
    def mpc(self) -> int: ...
    @property
    def dim(self) -> int: ...
    @property
    def symbols(self) -> int: ...
    @property
    def key_id(self) -> str: ...
    @property
    def params_fingerprint(self) -> str: ...
    def hash(self, features: _Array) -> Codes: ...

class Codes:
    """k-ary SMH codes, optionally with file/speaker/label columns (`.pvx` code files)."""

    @staticmethod
    def load(path: _Path) -> Codes: ...
    def save(
        self,
        path: _Path,
        files: Optional[list[str]] = None,
        speakers: Optional[list[str]] = None,
        labels: Optional[list[str]] = None,
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def symbols(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def files(self) -> list[str]: ...
    @property
    def speakers(self) -> list[str]: ...
    @property
    def labels(self) -> list[str]: ...
    def to_numpy(self) -> npt.NDArray[np.uint32]: ...

def normalized_hamming(a: Codes, b: Optional[Codes] = None) -> npt.NDArray[np.float64]: ...
def rbf_hamming_gram(a: Codes, b: Optional[Codes] = None, gamma: float = 1.0) -> npt.NDArray[np.float64]: ...
def leakage(codes: Codes, threshold: Optional[float] = None, against: Optional[Codes] = None) -> dict[str, object]: ...
def tune_delta(
    features: _Array,
    target: float,
    k: int = 3,
    mpc: int = 32,
    threshold: Optional[float] = None,
    seed: int = 0,
    max_pairs: int = 2_000_000,
) -> dict[str, float]: ...

class HeSecretKey:
    """The client's CKKS secret key (opaque, zeroized when freed)."""

class HeClient:
    """The client of encrypted inference for one `.pvxnn` model."""

    def __init__(self, model: _Path, packing: str = "single") -> None: ...
    @property
    def plan(self) -> str: ...
    @property
    def feature_names(self) -> list[str]: ...
    @property
    def class_names(self) -> list[str]: ...
    @property
    def max_rows_per_query(self) -> int: ...
    def keygen(self, seed: Optional[int] = None) -> tuple[HeSecretKey, bytes]: ...
    def keygen_files(self, prefix: _Path, seed: Optional[int] = None) -> tuple[Path, Path]: ...
    def save_secret_key(self, key: HeSecretKey, path: _Path) -> None: ...
    def load_secret_key(self, path: _Path) -> HeSecretKey: ...
    def encrypt(self, key: HeSecretKey, features: _Array) -> bytes: ...
    def decrypt(self, key: HeSecretKey, response: bytes) -> npt.NDArray[np.float64]: ...
    def plaintext_logits(self, features: _Array) -> npt.NDArray[np.float64]: ...

class HeServer:
    """The server side: the model and public evaluation keys only."""

    def __init__(self, model: _Path, eval_keys: bytes, packing: str = "single") -> None: ...
    def infer(self, query: bytes) -> bytes: ...
