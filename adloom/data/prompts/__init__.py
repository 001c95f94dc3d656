"""Data files (YAML) loaded through adloom.core.datafiles."""
