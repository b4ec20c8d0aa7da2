"""The Firestore triggers, played in-process: every write of a request goes to `reactions`.

`recording` wraps the ports of any database (the fakes or Firestore) and notes each write of a
request (the order Firestore would deliver the events in) with the document as that write left
it; `Triggers.deliver` hands each to the triggers' own code (`reactions.request_created` /
`request_updated`), once, or twice to play an at-least-once delivery, until the writes those
reactions make are delivered too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from homepro.services import reactions
from homepro.services.context import Context
from homepro.services.stores import Stores

RawReader = Callable[[str], Mapping[str, Any] | None]
Change = Callable[[str, Mapping[str, Any] | None, Mapping[str, Any]], None]
Writes = list[tuple[str, dict[str, Any] | None]]

# The port methods that write `requests/{id}` (and so fire the request triggers).
REQUEST_WRITES = {
    "requests": frozenset({"apply", "apply_reading", "create_request"}),
    "sessions": frozenset({"apply_session"}),
    "dispatch": frozenset({"reserve_round"}),
}


class _Recording:
    """A port whose writes of a request are noted, with the document each left."""

    def __init__(self, port: Any, methods: frozenset[str], read: RawReader, writes: Writes):
        self._port, self._methods, self._read, self._writes = port, methods, read, writes

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._port, name)
        if name not in self._methods:
            return found

        def write(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            request_id = result[1].id if name == "apply_session" else args[0]
            data = self._read(request_id)
            self._writes.append((request_id, dict(data) if data is not None else None))
            return result

        return write


def recording(stores: Stores, read_raw: RawReader, writes: Writes) -> Stores:
    """`stores` noting in `writes` every write of a request (in the order Firestore would
    deliver their events)."""
    wrapped = {
        name: _Recording(getattr(stores, name), methods, read_raw, writes)
        for name, methods in REQUEST_WRITES.items()
    }
    return replace(stores, **wrapped)


class Triggers:
    """`ctx` with a recording store; `deliver()` runs the triggers for what was written."""

    def __init__(
        self,
        ctx: Context,
        read_raw: RawReader,
        *,
        duplicates: bool = False,
        after_each: Callable[[datetime], None] | None = None,
        on_change: Change | None = None,
    ) -> None:
        self._writes: Writes = []
        self.ctx = replace(ctx, stores=recording(ctx.stores, read_raw, self._writes))
        self.duplicates = duplicates
        self._after_each = after_each
        self._on_change = on_change
        self._delivered: dict[str, dict[str, Any] | None] = {}

    def delivered(self) -> Mapping[str, Mapping[str, Any] | None]:
        """Each request as its last delivered event left it."""
        return self._delivered

    def deliver(self) -> None:
        writes = self._writes
        while writes:
            request_id, after = writes.pop(0)
            before = self._delivered.get(request_id)
            if after is None or after == before:
                continue
            self._delivered[request_id] = after
            for _ in range(2 if self.duplicates else 1):
                if before is None:
                    reactions.request_created(self.ctx, request_id, after)
                else:
                    reactions.request_updated(self.ctx, request_id, before, after)
            if self._on_change is not None:
                self._on_change(request_id, before, after)
            if self._after_each is not None:
                self._after_each(self.ctx.clock.now())
