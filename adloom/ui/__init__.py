"""Streamlit console (talks to serving over HTTP)."""
