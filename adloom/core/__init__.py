"""Domain types, settings, errors, storage, safe paths and the plugin registry.

Imports no other adloom package and no torch.
"""
