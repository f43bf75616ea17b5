"""Recording: pre-trigger ring buffers, event clips and continuous segments in Matroska, the SQLite index, retention."""
