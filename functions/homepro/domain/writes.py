"""What a transition writes besides its request: documents of other ports, in the same commit.

A planner returns them in `Transition.writes` (the session a start creates; a helper's claim
count, a customer's counters, a job's projection), and the store commits them with the request
and its audit event, atomically. A document the transition read (`Requests.apply(reads=…)`) is
written on condition that it is unchanged since the read, like the request itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class WriteKind(StrEnum):
    CREATE = "create"  # fails the commit if the document exists (it runs again)
    SET = "set"  # the whole document
    UPDATE = "update"  # merge fields into an existing document
    MERGE = "merge"  # merge fields into the document, creating it if missing (unconditioned)
    DELETE = "delete"  # the document is gone (unconditioned; nothing if it was missing)


@dataclass(frozen=True)
class DocumentWrite:
    kind: WriteKind
    path: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Increment:
    """A field value that adds `by` to the stored number (missing counts as 0), atomically."""

    by: int = 1


@dataclass(frozen=True)
class ArrayRemove:
    """A field value that removes `values` from the stored list (missing: an empty list)."""

    values: tuple[Any, ...]


class _Delete:
    """A field value that removes the field."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


def create(path: str, data: Mapping[str, Any]) -> DocumentWrite:
    return DocumentWrite(WriteKind.CREATE, path, data)


def set_document(path: str, data: Mapping[str, Any]) -> DocumentWrite:
    return DocumentWrite(WriteKind.SET, path, data)


def update(path: str, data: Mapping[str, Any]) -> DocumentWrite:
    return DocumentWrite(WriteKind.UPDATE, path, data)


def merge(path: str, data: Mapping[str, Any]) -> DocumentWrite:
    return DocumentWrite(WriteKind.MERGE, path, data)


def delete(path: str) -> DocumentWrite:
    return DocumentWrite(WriteKind.DELETE, path)
