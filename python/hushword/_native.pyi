"""Type stubs of hushword's native module (python/src/lib.rs)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str
SAMPLE_RATE: int
"""The only rate the engine takes: 16000 Hz."""

_Path = Union[str, "os.PathLike[str]"]
_Model = Union[_Path, Sequence[_Path], None]
_Samples = Union[npt.NDArray[np.int16], npt.NDArray[np.float32]]

class HushwordError(Exception):
    """An error from the engine; the message names the file or value and the problem."""

class Detection:
    """One wake-word event."""

    @property
    def keyword(self) -> str: ...
    @property
    def score(self) -> float:
        """The smoothed score that crossed the threshold."""
    @property
    def time_s(self) -> float:
        """When it fired, in seconds from the stream start (or the last reset)."""
    @property
    def start_s(self) -> float:
        """Estimated start of the spoken word."""
    @property
    def end_s(self) -> float:
        """Estimated end of the word (= time_s)."""
    @property
    def pre_roll(self) -> npt.NDArray[np.int16]:
        """The audio just before time_s (up to pre_roll_ms), 16 kHz."""

class Detector:
    """The streaming detector: feed 16 kHz mono audio in pieces of any length.

    model: a model path, a list of paths (one detector, features computed once), or None
    for the embedded default model. threshold: one threshold for every keyword, in (0, 1]
    (default: each model's recommendation). pre_roll_ms (default 2000), smoothing
    (evaluations averaged, default 2), refractory_ms (default 1500).
    """

    def __init__(
        self,
        model: _Model = None,
        threshold: Optional[float] = None,
        pre_roll_ms: Optional[int] = None,
        smoothing: Optional[int] = None,
        refractory_ms: Optional[int] = None,
    ) -> None: ...
    def process(self, samples: _Samples) -> List[Detection]:
        """Streams 1-D int16 or float32 samples; returns the detections they complete."""
    def scores(self, samples: _Samples) -> Dict[str, Tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]]:
        """Streams samples like process() and returns each evaluation's smoothed score per
        keyword: {keyword: (time_s, score)}."""
    def reset(self) -> None:
        """Forgets the stream; the next sample is time 0."""
    @property
    def models(self) -> List[Dict[str, Any]]:
        """Each model's metadata (as `hushword info --json`), with name and thresholds."""
    @property
    def keywords(self) -> List[str]: ...
    @property
    def time_s(self) -> float:
        """Seconds of audio consumed since creation or the last reset."""

def detect_file(
    path: _Path,
    model: _Model = None,
    threshold: Optional[float] = None,
    pre_roll_ms: Optional[int] = None,
) -> List[Detection]:
    """Detects wake words in a WAV or FLAC file: what `hushword detect FILE` prints."""
