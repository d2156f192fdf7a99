"""bootstrap: a deployment pipeline (service repo, workflows, Pulumi stacks) from one command."""

__version__ = "0.1.0"
