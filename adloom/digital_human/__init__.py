"""Voice, avatars and the real-time live-room session."""
