"""The batch API (issue 12): a FastAPI app under ``/v1``, built by :func:`create_app`."""

from adloom.serving.api.app import create_app, start_background

__all__ = ["create_app", "start_background"]
