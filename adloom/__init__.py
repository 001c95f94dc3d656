"""adloom: open generation of ad scripts, videos and live-commerce rooms.

Subpackages follow ../shared/DESIGN.md: ``core`` (types, settings, storage),
``scripts_gen`` (all text), ``creative`` (all pixels), ``digital_human``
(voice, avatars, live rooms), ``analytics`` (feedback, prediction, reports),
``serving`` (pipelines, API, CLI) and ``ui`` (console).
"""

__version__ = "0.1.0"
