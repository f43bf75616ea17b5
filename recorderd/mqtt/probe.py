"""A real test of the `[mqtt]` settings for `recorderd test`: connect, publish, wait for PUBACK.

The codes, and their meanings, are those of `recorderd test` for HTTP-like targets
(recorderd.actions.results.codes_for("mqtt")):
0 success, 1 cannot connect (refused, DNS, TLS, timeout), 2 network error (dropped after
connecting), 3 server error (CONNACK or PUBACK refused for another reason), 5 wrong user or password.
"""

from __future__ import annotations

import json
import secrets

import trio

from recorderd.config.model import MqttConfig
from recorderd.mqtt.client import MqttClient, MqttError, Tuning
from recorderd.mqtt.driver import FailureKind

_BY_KIND: dict[FailureKind, int] = {
    "connect": 1,
    "tls": 1,
    "timeout": 1,
    "closed": 2,
    "auth": 5,
    "refused": 3,
}


async def probe(config: MqttConfig, *, timeout: float = 10.0) -> tuple[int, str]:
    """One connection attempt and one QoS 1 message on `<t>/test` (not retained, no will).

    Uses its own client id (`<client_id>-test` or a random one), so a running daemon keeps its
    session.
    """
    client_id = f"{config.client_id}-test" if config.client_id else f"recorderd-test-{secrets.token_hex(4)}"
    tuning = Tuning(connect_timeout=min(5.0, timeout), backoff_initial=timeout, backoff_max=timeout)
    client = MqttClient(config, tuning=tuning, client_id=client_id)
    async with trio.open_nursery() as nursery:
        await nursery.start(client.run)
        connected = False
        try:
            with trio.move_on_after(timeout):
                await client.wait_attempt()
                if client.connected:
                    connected = True
                    payload = json.dumps({"test": True, "client_id": client_id})
                    try:
                        await client.publish(f"{config.topic}/test", payload, retain=False, qos=1)
                    except MqttError as e:
                        return 3, str(e)
                    return 0, f"published to {config.topic}/test on {client.target}"
            if connected:
                return 2, f"no PUBACK from {client.target} within {timeout:g}s"
            failure = client.last_failure
            if failure is not None:
                return _BY_KIND[failure.kind], failure.message
            return 1, f"no answer from {client.target} within {timeout:g}s"
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(tuning.connect_timeout):
                await client.aclose()
            nursery.cancel_scope.cancel()
