"""One module per command: parse options, call the core, render the result."""

from bootstrap.commands import new

__all__ = ["new"]
