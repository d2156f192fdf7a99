"""One module per command: parse options, call the core, render the result."""

from bootstrap.commands import (
    cost,
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
    verify,
)

__all__ = [
    "cost",
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
    "verify",
]
