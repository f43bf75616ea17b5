"""Actions: e-mail, FTP, HTTP and camera linkage through a durable SQLite outbox."""
