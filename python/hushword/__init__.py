"""hushword: privacy-first, on-device wake-word detection.

    import hushword
    det = hushword.Detector()                  # the embedded "alexa" model
    for d in det.process(samples):             # numpy int16 or float32, 16 kHz mono, any length
        print(d.keyword, d.score, d.time_s, d.start_s, d.end_s, len(d.pre_roll))
    hushword.detect_file("x.wav")              # what `hushword detect x.wav` prints, as objects
"""

from ._native import (
    SAMPLE_RATE,
    Detection,
    Detector,
    HushwordError,
    __version__,
    detect_file,
)

__all__ = ["SAMPLE_RATE", "Detection", "Detector", "HushwordError", "__version__", "detect_file"]
