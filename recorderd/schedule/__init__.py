"""Schedules: when a camera is armed, when an action may run, when privacy holds."""

from recorderd.schedule.engine import (
    ALWAYS,
    NEVER,
    CameraScheduleError,
    Schedule,
    ScheduleError,
    compile_schedule,
    from_day_mask,
    from_weekdays,
    from_windows,
    from_words,
    next_periodic,
)
from recorderd.schedule.readers import (
    event_groups,
    from_foscam_params,
    from_ipcamcgi_params,
    from_param_event,
)

__all__ = [
    "ALWAYS",
    "NEVER",
    "CameraScheduleError",
    "Schedule",
    "ScheduleError",
    "compile_schedule",
    "event_groups",
    "from_day_mask",
    "from_foscam_params",
    "from_ipcamcgi_params",
    "from_param_event",
    "from_weekdays",
    "from_windows",
    "from_words",
    "next_periodic",
]
