"""What a camera's settings ask of its dialect, checked against what the dialect's document offers.

Pure functions over the dialect registry (recorderd.dialects.registry): each returns None when the
dialect can do what is asked, else the reason, naming the value and what the dialect offers. The
config model (recorderd.config.model) turns them into errors at the key that asked.
"""

from __future__ import annotations

from collections.abc import Iterable

from recorderd.dialects.registry import DialectSpec

FAMILIES = ("motion", "input", "output", "sound", "tamper", "face")


def trigger_problem(spec: DialectSpec, trigger: str) -> str | None:
    """Why `spec`'s cameras cannot report `trigger` ("motion", "motion:1", "input:2", ...), or None."""
    family, sep, arg = trigger.partition(":")
    offers = f"{spec.name} offers {spec.offers()}"
    if family not in FAMILIES or family not in spec.triggers:
        return f'trigger "{trigger}": {offers}'
    if not sep:
        return None if family != "output" or spec.outputs else f'trigger "{trigger}": {offers}'
    numbers = {
        "motion": spec.motion_windows,
        "input": spec.inputs,
        "output": spec.outputs,
    }.get(family)
    if numbers is None or not arg.isdigit() or int(arg) not in numbers:
        return f'trigger "{trigger}": {offers}'
    return None


def loop_problem(spec: DialectSpec, triggers: Iterable[str], output: int) -> str | None:
    """Why a relay action `output:<output>` would start incidents on its own camera, or None.

    Where a camera reports the state of the output it is told to switch (IPCamCGI's Trigger
    lines are pulsed through iocontrol.cgi and read back from every frame as input:1/2; VAPIX
    io/output.cgi?monitor and MOBOTIX MOVE IO:Status as output:<n>), each pulse would be a new
    trigger edge: an incident that pulses the relay again, for ever.
    """
    echo = spec.output_echo(output)
    if echo is None:
        return None
    for t in triggers:
        if t == echo or (":" not in t and echo.startswith(t + ":")):
            return (
                f'"output:{output}" switches the bit this camera reports as "{echo}", which is one of '
                f'its triggers ("{t}"): every pulse would start a new incident; drop one of the two'
            )
    return None
