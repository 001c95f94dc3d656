"""The quality gate: an independent decode of every rendered video before anything reaches a user.

``check_video(path, expected_duration_s=...)`` returns a :class:`QualityReport`; ``probe(path)`` returns the
container and stream facts. Both read files with PyAV (the ``quality`` extra), imported on first use.
"""

from adloom.creative.quality.gate import QualityReport, check_video
from adloom.creative.quality.probe import probe

__all__ = ["QualityReport", "check_video", "probe"]
