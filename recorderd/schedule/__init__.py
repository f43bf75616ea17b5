"""Schedules: when a camera is armed, when an action may run, when privacy holds."""
