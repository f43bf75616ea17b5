"""Tables transcribed from the documents, shared by the daemon's drivers and the simulator."""

from __future__ import annotations

# IPCamCGI Appendix Table 1: TimeZoneIndex -> the zone's offset in minutes east of GMT (index 0:
# "Unused timezone table"). The document gives no daylight saving rule.
IPCAMCGI_ZONE_OFFSETS: tuple[int | None, ...] = (
    None,
    *(-720, -660, -600, -540, -480, -480, -420, -420, -420, -360, -360, -360, -360),  # 1-13
    *(-300, -300, -300, -270, -240, -240, -240, -240, -210, -180, -180, -180, -180),  # 14-26
    *(-120, -60, -60, 0, 0, 60, 60, 60, 60, 60, 120, 120, 120, 120, 120, 120, 120),  # 27-43
    *(120, 120, 180, 180, 180, 180, 180, 210, 240, 240, 240, 270, 300, 300, 330),  # 44-58
    *(330, 345, 360, 360, 390, 420, 420, 480, 480, 480, 480, 480, 540, 540, 540),  # 59-73
    *(570, 570, 600, 600, 600, 600, 600, 660, 720, 720, 780),  # 74-84
)
