"""Asset understanding: the advertiser's clips and photos cut into scenes and scored, cached by content hash.

:mod:`.model` holds the types (``AssetAnalysis`` -> ``SceneInfo`` [-> ``PhotoInfo``]) that retrieval and remix
read; :mod:`.analyze` produces them. Importing this package loads only the types (no OpenCV, PyAV).
"""

from adloom.creative.assets.model import (
    ANALYZER_VERSION,
    AnalysisLimits,
    AssetAnalysis,
    AssetFailure,
    AssetKind,
    PhotoInfo,
    SceneInfo,
    scene_id,
)

__all__ = [
    "ANALYZER_VERSION",
    "AnalysisLimits",
    "AssetAnalysis",
    "AssetFailure",
    "AssetKind",
    "PhotoInfo",
    "SceneInfo",
    "scene_id",
]
