"""The provider SDKs, loaded at run time.

pulumi-aws and pulumi-kubernetes ship their whole API as typed Python (pulumi-aws alone is about
270 MB). A type checker that follows `import pulumi_aws` analyses all of it and needs well over
16 GB of memory, so the components reach the SDKs through these module objects, typed `Any`.
The tests run every component against the real SDKs under Pulumi's mocks instead.

Both SDKs load their submodules lazily: `aws.ec2` imports only the EC2 module, on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

aws: Any = importlib.import_module("pulumi_aws")


def kubernetes() -> Any:
    """pulumi-kubernetes, imported on first use: only EKS stages need it."""
    return importlib.import_module("pulumi_kubernetes")
