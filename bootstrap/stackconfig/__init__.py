"""A generated repo's Pulumi configuration, read and judged before any cloud call.

- `files`: the stack files as the Pulumi CLI reads and merges them (`stack_config`);
- `checks`: every bad setting, one line each naming the file, the key and the fix (`validate`);
- `findings`: what a check finds, and `ConfigError` (exit 2) that carries them.
"""

from bootstrap.stackconfig.checks import check, validate
from bootstrap.stackconfig.files import config_text, is_secure, stack_config, stage_targets
from bootstrap.stackconfig.findings import ConfigError, Finding, Report

__all__ = [
    "ConfigError",
    "Finding",
    "Report",
    "check",
    "config_text",
    "is_secure",
    "stack_config",
    "stage_targets",
    "validate",
]
