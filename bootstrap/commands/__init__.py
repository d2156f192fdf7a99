"""One module per command: parse options, call the core, render the result."""

from bootstrap.commands import (
    destroy,
    doctor,
    new,
    preview,
    promote,
    provision,
    rollback,
    status,
    up,
    update,
)

__all__ = [
    "destroy",
    "doctor",
    "new",
    "preview",
    "promote",
    "provision",
    "rollback",
    "status",
    "up",
    "update",
]
