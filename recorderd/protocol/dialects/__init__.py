"""Per-camera-family text parsers that turn responses into normalized trigger samples."""
