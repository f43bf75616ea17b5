"""What a config reload changes: the validated config objects compared per camera and per target.

Pure: `diff(old, new)` says which cameras and targets to (re)start or stop, which services follow,
and which keys only a restart of the process can apply. The daemon acts on it (app.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recorderd.config.model import CameraConfig, Config


@dataclass(frozen=True)
class ConfigDiff:
    cameras_added: list[str] = field(default_factory=list)
    cameras_removed: list[str] = field(default_factory=list)
    cameras_changed: list[str] = field(default_factory=list)
    targets_added: list[str] = field(default_factory=list)
    targets_removed: list[str] = field(default_factory=list)
    targets_changed: list[str] = field(default_factory=list)
    # the MQTT publisher restarts: its settings, or the cameras and triggers it announces, changed
    mqtt_changed: bool = False
    http_changed: bool = False
    storage_changed: bool = False
    log_level_changed: bool = False
    # keys only a restart of the process applies; they keep their running values
    needs_restart: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.cameras_added
            or self.cameras_removed
            or self.cameras_changed
            or self.targets_added
            or self.targets_removed
            or self.targets_changed
            or self.mqtt_changed
            or self.http_changed
            or self.storage_changed
            or self.log_level_changed
            or self.needs_restart
        )

    @property
    def cameras_restarted(self) -> list[str]:
        return sorted(self.cameras_changed)

    def summary(self) -> str:
        """One line for the log and STATUS: what the reload does."""
        parts = []
        for what, names in (
            ("camera(s) added", self.cameras_added),
            ("camera(s) restarted", self.cameras_changed),
            ("camera(s) removed", self.cameras_removed),
            ("target(s) added", self.targets_added),
            ("target(s) restarted", self.targets_changed),
            ("target(s) removed", self.targets_removed),
        ):
            if names:
                parts.append(f"{len(names)} {what} ({', '.join(sorted(names))})")
        if self.mqtt_changed:
            parts.append("MQTT reconnected")
        if self.http_changed:
            parts.append("HTTP endpoint restarted")
        if self.storage_changed:
            parts.append("storage limits updated")
        if self.log_level_changed:
            parts.append("log level updated")
        if self.needs_restart:
            parts.append(f"not applied until a restart: {', '.join(self.needs_restart)}")
        return "; ".join(parts) if parts else "nothing changed"


def enabled_cameras(cfg: Config) -> dict[str, CameraConfig]:
    return {n: c for n, c in cfg.cameras.items() if c.enabled}


def mqtt_cameras(cfg: Config) -> dict[str, list[str]]:
    """What the MQTT publisher announces: each enabled camera's configured triggers."""
    return {n: list(c.triggers) for n, c in enabled_cameras(cfg).items()}


def camera_key(cc: CameraConfig) -> CameraConfig:
    """What the camera's own tasks depend on: all but its `actions` (the dispatcher reads those
    from the config at each event, so a changed action list restarts nothing)."""
    return cc.model_copy(update={"actions": None})


def diff(old: Config, new: Config) -> ConfigDiff:
    old_cams, new_cams = enabled_cameras(old), enabled_cameras(new)
    changed = []
    for name in old_cams.keys() & new_cams.keys():
        a, b = old_cams[name], new_cams[name]
        # a camera without its own timezone follows the daemon's
        if camera_key(a) != camera_key(b) or a.zone(old.daemon.timezone) != b.zone(new.daemon.timezone):
            changed.append(name)
    targets_changed = [n for n in old.targets.keys() & new.targets.keys() if old.targets[n] != new.targets[n]]
    od, nd = old.daemon, new.daemon
    restart_only = [
        f"daemon.{key}" for key in ("state_dir", "event_queue") if getattr(od, key) != getattr(nd, key)
    ]
    return ConfigDiff(
        cameras_added=sorted(new_cams.keys() - old_cams.keys()),
        cameras_removed=sorted(old_cams.keys() - new_cams.keys()),
        cameras_changed=sorted(changed),
        targets_added=sorted(new.targets.keys() - old.targets.keys()),
        targets_removed=sorted(old.targets.keys() - new.targets.keys()),
        targets_changed=sorted(targets_changed),
        mqtt_changed=old.mqtt != new.mqtt
        or (new.mqtt is not None and mqtt_cameras(old) != mqtt_cameras(new)),
        http_changed=(od.http_listen, od.http_token, od.http_token_file, od.http_max_connections)
        != (nd.http_listen, nd.http_token, nd.http_token_file, nd.http_max_connections),
        storage_changed=old.storage != new.storage,
        log_level_changed=od.log_level != nd.log_level,
        needs_restart=restart_only,
    )
