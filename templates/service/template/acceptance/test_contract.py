"""Contract: the service's live OpenAPI document, exercised by Schemathesis (property-based).

Every operation gets generated requests, valid and invalid, at most `acceptanceExamples` each,
within the part's time budget (`acceptanceContractSeconds`: no request is sent past it). A
response fails the part when it is a server error, has a status code or content type the
document does not list for the operation, or a body that breaks the documented schema.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis

from acceptance import run as runs
from acceptance.service import OPENAPI_PATH
from acceptance.settings import REQUEST_TIMEOUT

# Schemathesis's names for the checks (its "Checks" reference).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
RUN = runs.current()
schema = schemathesis.openapi.from_url(RUN.base_url + OPENAPI_PATH, timeout=REQUEST_TIMEOUT)


@dataclass
class Budget:
    seconds: float
    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    not_sent: int = 0
    operations: set[str] = field(default_factory=set)

    def spent(self) -> bool:
        return time.monotonic() - self.started >= self.seconds


@pytest.fixture(scope="module")  # its figures are in the verdict when the part ends
def budget(acceptance_run: runs.Run) -> Any:
    part = acceptance_run.verdict.parts["contract"]
    part.thresholds.update(
        examples=acceptance_run.settings.examples, seconds=acceptance_run.settings.contract_seconds
    )
    spent = Budget(float(acceptance_run.settings.contract_seconds))
    yield spent
    part.figures.update(
        operations=len(spent.operations), requests=spent.sent, not_sent=spent.not_sent
    )


@schema.parametrize()
def test_operation(case: Any, budget: Budget) -> None:
    budget.operations.add(case.operation.label)
    if budget.spent():
        budget.not_sent += 1
        return
    budget.sent += 1
    checks = [getattr(schemathesis.checks, name) for name in CHECKS]
    case.call_and_validate(base_url=RUN.base_url, checks=checks, timeout=REQUEST_TIMEOUT)
