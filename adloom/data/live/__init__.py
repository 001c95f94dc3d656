"""Live-room data: the live script's phrase grammars (script_<lang>.yaml) and answer tables."""
