"""Sans-IO parsers for everything a camera sends: multipart streams, audio framing, event text."""
