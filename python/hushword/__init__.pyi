from ._native import (
    SAMPLE_RATE as SAMPLE_RATE,
    Detection as Detection,
    Detector as Detector,
    HushwordError as HushwordError,
    __version__ as __version__,
    detect_file as detect_file,
)
