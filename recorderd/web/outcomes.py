"""What became of each incident's actions: the outbox rows that carry its events, read-only.

The outbox (recorderd/actions/outbox.py) keeps one row per action with the event(s) in its JSON
payload; a row is `pending` (never tried, or `retrying` once tried), `done` (sent) or `dead`
(failed). Read through a read-only connection of our own, so the page never queues behind the
outbox's writes; a missing outbox (no actions configured) means no actions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from recorderd.actions.outbox import State

MAX_IDS = 500  # bound: incidents asked about in one query
# what the events page says of an action
Outcome = Literal["sent", "failed", "retrying", "queued"]


def outcome(state: State, attempts: int) -> Outcome:
    if state == "done":
        return "sent"
    if state == "dead":
        return "failed"
    return "retrying" if attempts > 0 else "queued"


def read_outcomes(path: Path, incident_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """incident id -> its actions: target, kind, event type, outcome, attempts, last error
    (blocking: call in a worker thread)."""
    ids = list(dict.fromkeys(incident_ids))[:MAX_IDS]
    if not ids or not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return {}
    marks = ",".join("?" * len(ids))
    sql = (
        "SELECT json_extract(e.value, '$.id'), json_extract(e.value, '$.type'), a.target, a.kind,"
        " a.state, a.attempts, a.last_error FROM actions a, json_each(a.payload, '$.events') e"
        f" WHERE json_extract(e.value, '$.id') IN ({marks}) ORDER BY a.id"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        for iid, kind_of_event, target, kind, state, attempts, error in db.execute(sql, ids):
            out.setdefault(iid, []).append(
                {
                    "event": kind_of_event,
                    "target": target,
                    "kind": kind,
                    "outcome": outcome(state, attempts),
                    "attempts": attempts,
                    "error": error,
                }
            )
    except sqlite3.Error:
        return {}  # an outbox being created or migrated: no outcomes this time
    finally:
        db.close()
    return out
