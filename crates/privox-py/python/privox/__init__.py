"""privox: privacy-preserving speech analytics, from Python.

* :class:`Smile`: openSMILE-compatible eGeMAPS v02 features (88 functionals or
  25 LLDs per 10 ms), a drop-in for opensmile-python's ``eGeMAPSv02`` use,
  from privox's pure-Rust extractor (Apache-2.0);
* :class:`SmhKey`, :class:`Codes`, :func:`normalized_hamming`,
  :func:`rbf_hamming_gram`, :func:`leakage`, :func:`tune_delta`: Secure
  Modular Hashing, with the CLI's key and code files;
* :class:`HeClient` (and :class:`HeServer`): encrypted inference of a
  ``.pvxnn`` model under CKKS, with the CLI's key, query and response formats;
* :mod:`privox.ray`: corpus-scale extraction on a Ray cluster
  (``pip install privox[ray]``).

Every call that does real work releases the GIL.
"""

from privox._privox import (
    FEATURE_NAMES,
    LLD_NAMES,
    AudioError,
    Codes,
    FeatureError,
    FileFormatError,
    HeClient,
    HeError,
    HeSecretKey,
    HeServer,
    KeyFormatError,
    PrivoxError,
    SmhKey,
    TooShortError,
    __version__,
    leakage,
    normalized_hamming,
    rbf_hamming_gram,
    tune_delta,
)
from privox._smile import FeatureLevel, FeatureSet, SkippedFilesWarning, Smile, read_audio

__all__ = [
    "Smile",
    "FeatureSet",
    "FeatureLevel",
    "SkippedFilesWarning",
    "read_audio",
    "FEATURE_NAMES",
    "LLD_NAMES",
    "SmhKey",
    "Codes",
    "normalized_hamming",
    "rbf_hamming_gram",
    "leakage",
    "tune_delta",
    "HeClient",
    "HeServer",
    "HeSecretKey",
    "PrivoxError",
    "AudioError",
    "TooShortError",
    "FeatureError",
    "FileFormatError",
    "KeyFormatError",
    "HeError",
    "__version__",
]
