"""Service plumbing: systemd notify/watchdog, logging, the status and metrics endpoint."""
