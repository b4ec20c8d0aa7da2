"""The TaskQueue port on Cloud Tasks, through firebase-admin's `functions.task_queue`.

The payload is sent as `{"data": payload}`: that is the body `tasks_fn.on_task_dispatched`
reads (firebase-admin-python posts what it is given). A named task enqueued twice is refused
(409: `ConflictError` on the emulator, `AlreadyExistsError` in production): already enqueued.
The Cloud Tasks emulator takes a named task but answers with a name the SDK cannot parse
(`ValueError("Invalid resource name format.")`): on the emulator, that answer means enqueued.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import firebase_admin
from firebase_admin import exceptions, functions

from homepro.services.ports import EnqueueError

log = logging.getLogger(__name__)
EMULATOR_NAME_QUIRK = "Invalid resource name format."


class CloudTaskQueue:
    def __init__(self, app: firebase_admin.App | None, *, emulated: bool = False) -> None:
        self._app = app
        self._emulated = emulated
        self._queues: dict[str, functions.TaskQueue] = {}

    def _queue(self, name: str) -> functions.TaskQueue:
        queue = self._queues.get(name)
        if queue is None:  # a lost race builds a second reference: harmless
            queue = self._queues[name] = functions.task_queue(name, app=self._app)
        return queue

    def enqueue(
        self,
        queue: str,
        payload: Mapping[str, Any],
        *,
        task_id: str | None = None,
        schedule_time: datetime | None = None,
    ) -> bool:
        options = functions.TaskOptions(task_id=task_id, schedule_time=schedule_time)
        try:
            self._queue(queue).enqueue({"data": dict(payload)}, options)
        except (exceptions.AlreadyExistsError, exceptions.ConflictError):
            return False
        except ValueError as err:
            if self._emulated and task_id is not None and str(err) == EMULATOR_NAME_QUIRK:
                return True
            raise
        except exceptions.FirebaseError as err:
            raise EnqueueError(f"{queue}: {err}") from err
        return True
