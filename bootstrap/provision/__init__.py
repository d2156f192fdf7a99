"""From nothing to a running first stage: `bootstrap new` end to end, and `bootstrap provision`
(docs/provision.md).

- `runner`: `Provisioner`, the phases in order, each behind a guard that re-detects its work;
- `model`: the request, the step reports and the summary, and the errors carrying them;
- `watch`: following the first workflow run (`--wait`).
"""

from bootstrap.provision.model import (
    STEPS,
    PreflightError,
    ProvisionError,
    Request,
    StepReport,
    Summary,
)
from bootstrap.provision.runner import Provisioner

__all__ = [
    "STEPS",
    "PreflightError",
    "ProvisionError",
    "Provisioner",
    "Request",
    "StepReport",
    "Summary",
]
