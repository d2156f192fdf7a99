"""bootstrap: a deployment pipeline (service repo, workflows, Pulumi stacks) from one command."""

__version__ = "0.1.0"

# Libraries `bootstrap --help` must not import (each command imports what it needs inside its
# function): tests/bootstrap/commands/test_cli.py and bench/bench_startup.py check it.
HEAVY_IMPORTS = (
    "boto3", "botocore", "copier", "github", "pulumi", "pulumi_aws", "pydantic", "yaml",
)  # fmt: skip
