"""`recorderd demo`: simulated cameras of every dialect and the daemon against them, in one process."""
