"""The camera engine: per-camera trio tasks, streams, triggers, incidents and the event bus."""
