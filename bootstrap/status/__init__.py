"""Which release runs where: the grid of `bootstrap status`, and the facts promote/rollback use.

One row per stage, in lifecycle order (docs/status.md). The package, by responsibility:

- `model`: the grid as data (`Report`, `StageStatus`, `Release`, `Health`, ...), no I/O;
- the sources, each optional: the stacks' outputs (`sources`: `Sources`, `project_sources`),
  GitHub's deployments and waiting runs (`github`), the registry (`registry`: the protocol over
  `stacks.ecr`, the one ECR adapter) and `GET <url>/health` (`health`);
- `collect`: the grid from whatever answered;
- `render`: the table, plain text, JSON lines and the `--watch` loop.

Status only reads: the stacks are opened read-only (no passphrase is generated for them), and
the writes promotions and rollbacks make (starting promote.yml, deploying, tagging the registry)
are `bootstrap.release`'s.
"""

from bootstrap.status.collect import collect, smoke_test
from bootstrap.status.github import GitHubView, github_from_env
from bootstrap.status.health import HEALTH_TIMEOUT, check_all, check_health
from bootstrap.status.model import (
    Deployment,
    Health,
    Release,
    Report,
    StageStatus,
    Waiting,
    parse_image,
    short_digest,
)
from bootstrap.status.registry import Registry, SoftRegistry
from bootstrap.status.render import build_table, header, json_line, render_text, watch
from bootstrap.status.sources import Sources, project_sources, read_stacks

__all__ = [
    "HEALTH_TIMEOUT",
    "Deployment",
    "GitHubView",
    "Health",
    "Registry",
    "Release",
    "Report",
    "SoftRegistry",
    "Sources",
    "StageStatus",
    "Waiting",
    "build_table",
    "check_all",
    "check_health",
    "collect",
    "github_from_env",
    "header",
    "json_line",
    "parse_image",
    "project_sources",
    "read_stacks",
    "render_text",
    "short_digest",
    "smoke_test",
    "watch",
]
