"""Pulumi ComponentResources for the generated infra program (copied into each generated repo)."""
