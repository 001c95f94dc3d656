"""`adloom video train` and `adloom video demo` (registered on the `video` sub-app by video_cli)."""

from __future__ import annotations
