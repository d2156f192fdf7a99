"""The registry's images: the one adapter (boto3) for everything done with them.

No Pulumi. Every generated repository carries it as `infra/stacks/ecr.py`, so the deploy workflow
and the bootstrap CLI mark releases with the same code:

- read: an image by digest (its git SHA tag, push time), the image a tag names, the images a
  stage marked deployed (`status`, `rollback`);
- mark a release: tag the deployed image `deployed.<stage>.<git sha>` and untag the stage's
  superseded releases, so the lifecycle policy (`retention.py`) keeps exactly the stage's current
  and previous release (`promote --local`, `rollback --local`, and the deploy workflow through
  `python -m stacks.ecr mark-release`);
- count and delete every image (`destroy --all --delete-images`).

ECR tags are immutable, but an existing manifest can take a new tag (PutImage with the image's
own manifest), and BatchDeleteImage by tag removes only that tag (an image's last tag takes the
image with it, so that is never done here). The ECR API calls each operation makes are listed in
the `*_ACTIONS` tuples below: the IAM policies of the roles that run them must allow them.

Command line, run from `infra/` with the infra virtualenv (the deploy job does, after its smoke
test; a failure there is a warning):

    python -m stacks.ecr mark-release --repository-url URL --stage STAGE \\
        --digest sha256:... [--previous IMAGE_OR_DIGEST]

One line per action on stdout; exit 0 on success, 1 when the registry refused, 2 for bad
arguments (one `error:` line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .contract import (
    DIGEST,
    DIGEST_PATTERN,
    GIT_SHA,
    IMAGE_REF,
    deployed_digest_tag,
    deployed_tag,
    deployed_tag_variant,
)
from .retention import deployed_prefix

# The ECR API calls of each operation, as IAM actions (ECR's action names are its operation names:
# parliament 1.6.4's iam_definition.json). tests/bootstrap/status/test_ecr.py records the calls against these.
READ_ACTIONS = ("ecr:DescribeImages",)
MARK_RELEASE_ACTIONS = (
    "ecr:BatchDeleteImage",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:PutImage",
)
CLEAR_ACTIONS = ("ecr:BatchDeleteImage", "ecr:ListImages")
# The command line's commands (the deploy job runs `mark-release` as the stage's deploy role) and
# what each calls: the deploy policy grants it (permissions.py) and the IAM coverage check reads it.
COMMAND_ACTIONS = {"mark-release": MARK_RELEASE_ACTIONS}

# BatchGetImage's documented acceptedMediaTypes (botocore 1.44.8, ecr 2015-09-21 service model):
# the build pushes one single-platform manifest, never an index.
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
# A tag as the OCI distribution spec (v1.0.1) allows it: at most 128 characters.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# `aws_account_id.dkr.ecr.region.amazonaws.com/repositoryName` (pulumi-aws 7.51's repository_url),
# with the RepositoryName pattern of botocore's ecr model. Sources: docs/sources.md.
_REPOSITORY_URL = re.compile(
    r"^(?:[a-z]+://)?(?P<host>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<name>[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)$"
)
_NOT_FOUND = ("ImageNotFoundException", "RepositoryNotFoundException")
_TAG_TAKEN = ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException")
_BATCH = 100  # BatchDeleteImage takes at most 100 image ids (botocore's ecr model)


class RegistryError(Exception):
    """The registry refused or lacks what an operation needs: the problem and its fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} ({fix})")
        self.problem = problem
        self.fix = fix


Guard = Callable[[str], contextlib.AbstractContextManager[Any]]


@contextlib.contextmanager
def registry_errors(action: str) -> Iterator[None]:
    """The default guard: any AWS failure becomes a RegistryError naming the action."""
    import botocore.exceptions as bx

    try:
        yield
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        message = error.get("Message") or error.get("Code") or str(exc)
        raise RegistryError(
            f"{action} failed: {message}", "check the role's ECR permissions"
        ) from exc
    except bx.BotoCoreError as exc:
        raise RegistryError(
            f"{action} failed: {exc}", "check the AWS credentials and region"
        ) from exc


def _code(exc: Exception) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def short(digest: str) -> str:
    return f"sha256:{digest.removeprefix('sha256:')[:12]}"


def check_digest(digest: str) -> str:
    if not DIGEST.fullmatch(digest):
        raise ValueError(f"'{digest}' is not an image digest (sha256:<64 hex digits>)")
    return digest


@dataclass(frozen=True)
class ImageInfo:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime | None

    @property
    def git_sha(self) -> str | None:
        """The commit the image was built from: the build tags each image with its git SHA."""
        return next((t for t in self.tags if GIT_SHA.fullmatch(t)), None)


def _info(detail: dict[str, Any]) -> ImageInfo:
    pushed = detail.get("imagePushedAt")
    if isinstance(pushed, datetime) and pushed.tzinfo is None:
        pushed = pushed.replace(tzinfo=UTC)
    return ImageInfo(
        detail["imageDigest"],
        tuple(detail.get("imageTags") or ()),
        pushed if isinstance(pushed, datetime) else None,
    )


@dataclass
class Marked:
    """What marking a release did."""

    stage: str
    digest: str
    tag: str  # the tag that marks the release now
    added: bool  # False: the image carried it already
    untagged: list[str] = field(default_factory=list)  # superseded releases' tags removed

    def lines(self) -> list[str]:
        first = (
            f"tagged {short(self.digest)} {self.tag}"
            if self.added
            else f"{self.tag} already marks {short(self.digest)}"
        )
        return [first, *(f"untagged {tag} (superseded)" for tag in self.untagged)]


class Repository:
    """One ECR repository's images, through a boto3 ECR client.

    `guard(action)` wraps every AWS call: the default turns failures into a RegistryError; the
    bootstrap CLI passes its own (one-line errors with exit codes). Lookups by digest and by tag
    are cached for the adapter's lifetime (one command); writes clear the cache."""

    def __init__(self, client: Any, name: str, *, guard: Guard = registry_errors) -> None:
        self.client = client
        self.name = name
        self.guard = guard
        self._images: dict[str, ImageInfo | None] = {}
        self._tags: dict[str, str | None] = {}

    # --- reading ------------------------------------------------------------------------------

    def _describe(self, image_id: dict[str, str]) -> ImageInfo | None:
        import botocore.exceptions as bx

        with self.guard(f"reading the image {next(iter(image_id.values()))} from {self.name}"):
            try:
                found = self.client.describe_images(repositoryName=self.name, imageIds=[image_id])
            except bx.ClientError as exc:
                if _code(exc) in _NOT_FOUND:
                    return None
                raise
        details = found.get("imageDetails") or []
        return _info(details[0]) if details else None

    def image(self, digest: str) -> ImageInfo | None:
        """The image with this digest, or None when the registry does not hold it."""
        if digest not in self._images:
            self._images[digest] = self._describe({"imageDigest": digest})
        return self._images[digest]

    def digest_for_tag(self, tag: str) -> str | None:
        """The digest of the image tagged `tag` (a git SHA: the image built from that commit)."""
        if tag not in self._tags:
            info = self._describe({"imageTag": tag})
            self._tags[tag] = info.digest if info else None
            if info:
                self._images.setdefault(info.digest, info)
        return self._tags[tag]

    def _tagged(self) -> Iterator[ImageInfo]:
        import botocore.exceptions as bx

        pages = self.client.get_paginator("describe_images").paginate(
            repositoryName=self.name, filter={"tagStatus": "TAGGED"}
        )
        try:
            for page in pages:
                yield from (_info(d) for d in page.get("imageDetails") or [])
        except bx.ClientError as exc:
            if _code(exc) != "RepositoryNotFoundException":
                raise

    def deployed(self, stage: str) -> list[ImageInfo]:
        """Images tagged `deployed.<stage>.*`, the most recently pushed first."""
        prefix = deployed_prefix(stage)
        with self.guard(f"listing the images of {self.name}"):
            found = [i for i in self._tagged() if any(t.startswith(prefix) for t in i.tags)]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda i: i.pushed_at or epoch, reverse=True)

    # --- marking releases ---------------------------------------------------------------------

    def mark_release(
        self, stage: str, digest: str, *, keep: Iterable[str] = (), git_sha: str | None = None
    ) -> Marked:
        """Tag `digest` as deployed to `stage` (named by `git_sha`, else by the image's git-SHA
        tag, else by its digest), then untag the stage's releases other than it and `keep`."""
        check_digest(digest)
        deployed_prefix(stage)
        if git_sha is None:
            info = self._describe({"imageDigest": digest})
            if info is None:
                raise self._missing(digest)
            git_sha = info.git_sha
        tag, added = self.tag_deployed(stage, digest, git_sha)
        untagged = self.untag_superseded(stage, {digest, *keep})
        return Marked(stage, digest, tag, added, untagged)

    def _missing(self, digest: str) -> RegistryError:
        return RegistryError(
            f"the registry {self.name} has no image {short(digest)}",
            "it may have expired; deploy an image that the registry still holds",
        )

    def tag_deployed(self, stage: str, digest: str, git_sha: str | None) -> tuple[str, bool]:
        """Put the tag `deployed.<stage>.<git sha>` on the image `digest`: (the tag, whether it
        was added). Idempotent. If another image (a rebuild of the same commit) holds the tag,
        the variant with the digest appended is used."""
        check_digest(digest)
        deployed_prefix(stage)
        tag = deployed_tag(stage, git_sha) if git_sha else deployed_digest_tag(stage, digest)
        if not _TAG.match(tag):
            raise ValueError(f"'{tag}' is not a valid image tag: use a 40-hex git SHA")
        self._images.clear()
        self._tags.clear()
        with self.guard(f"tagging {short(digest)} as deployed to {stage}"):
            found = (
                self.client.batch_get_image(
                    repositoryName=self.name,
                    imageIds=[{"imageDigest": digest}],
                    acceptedMediaTypes=list(MANIFEST_TYPES),
                ).get("images")
                or []
            )
            if not found:
                raise self._missing(digest)
            for candidate in (tag, deployed_tag_variant(tag, digest)):
                holder = self._holder(candidate)
                if holder is None:
                    if self._put(found[0], candidate, digest):
                        return candidate, True
                    holder = self._holder(candidate)  # taken meanwhile: by another run of ours?
                if holder == digest:
                    return candidate, False
        raise RegistryError(
            f"the tags {tag} and its digest variant are both taken by other images",
            f"remove the stale tag {tag} from the registry and deploy again",
        )

    def _holder(self, tag: str) -> str | None:
        import botocore.exceptions as bx

        try:
            details = (
                self.client.describe_images(
                    repositoryName=self.name, imageIds=[{"imageTag": tag}]
                ).get("imageDetails")
                or []
            )
        except bx.ClientError as exc:
            if _code(exc) == "ImageNotFoundException":
                return None
            raise
        return str(details[0]["imageDigest"]) if details else None

    def _put(self, image: dict[str, Any], tag: str, digest: str) -> bool:
        """PutImage of the image's own manifest with a new tag; False when the tag is taken."""
        import botocore.exceptions as bx

        request: dict[str, Any] = {
            "repositoryName": self.name,
            "imageManifest": image["imageManifest"],
            "imageTag": tag,
            "imageDigest": digest,
        }
        if image.get("imageManifestMediaType"):
            request["imageManifestMediaType"] = image["imageManifestMediaType"]
        try:
            self.client.put_image(**request)
        except bx.ClientError as exc:
            if _code(exc) not in _TAG_TAKEN:
                raise
            return False
        return True

    def untag_superseded(self, stage: str, keep: Iterable[str]) -> list[str]:
        """Remove `deployed.<stage>.` tags from images whose digest is not in `keep`, so that the
        stage's retention rule protects only those, whatever order rollbacks deployed them in.
        Only images that keep another tag lose theirs (an image's last tag would take the image
        with it). Returns the tags removed, sorted."""
        prefix = deployed_prefix(stage)
        kept = set(keep)
        removed: list[str] = []
        self._images.clear()
        with self.guard(f"untagging superseded releases of {stage}"):
            stale: list[dict[str, str]] = []
            for info in self._tagged():
                mine = [t for t in info.tags if t.startswith(prefix)]
                if mine and info.digest not in kept and len(mine) < len(info.tags):
                    stale.extend({"imageTag": t} for t in mine)  # by tag: only the tag goes
            for start in range(0, len(stale), _BATCH):
                done = self.client.batch_delete_image(
                    repositoryName=self.name, imageIds=stale[start : start + _BATCH]
                )
                removed.extend(
                    i["imageTag"] for i in done.get("imageIds") or [] if i.get("imageTag")
                )
        return sorted(removed)

    # --- every image (destroy) ----------------------------------------------------------------

    def _ids(self) -> Iterator[list[dict[str, str]]]:
        import botocore.exceptions as bx

        try:
            for page in self.client.get_paginator("list_images").paginate(repositoryName=self.name):
                if page.get("imageIds"):
                    yield page["imageIds"]
        except bx.ClientError as exc:
            if _code(exc) != "RepositoryNotFoundException":
                raise

    def count(self) -> int:
        """How many images (distinct digests) the repository holds; 0 when it does not exist."""
        with self.guard(f"listing the images of {self.name}"):
            return len({i.get("imageDigest") for page in self._ids() for i in page})

    def delete_all(self) -> int:
        """Delete every image (by digest, with all its tags); the number deleted."""
        deleted = 0
        self._images.clear()
        self._tags.clear()
        with self.guard(f"deleting the images of {self.name}"):
            digests = list(dict.fromkeys(i["imageDigest"] for p in self._ids() for i in p
                                         if "imageDigest" in i))  # fmt: skip
            for start in range(0, len(digests), _BATCH):
                batch = [{"imageDigest": d} for d in digests[start : start + _BATCH]]
                done = self.client.batch_delete_image(repositoryName=self.name, imageIds=batch)
                deleted += len({i.get("imageDigest") for i in done.get("imageIds") or []})
        return deleted


# --- the command line ---------------------------------------------------------------------------


def parse_repository_url(url: str) -> tuple[str, str]:
    """(repository name, region) of an ECR repository URL."""
    match = _REPOSITORY_URL.match(url.strip())
    if not match:
        raise ValueError(
            f"--repository-url '{url}' is not an ECR repository URL "
            "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME: the shared stack's repositoryUrl)"
        )
    return match.group("name"), match.group("region")


def previous_digest(value: str | None) -> str | None:
    """The digest of `--previous`: an image (`REPOSITORY@sha256:...`), a digest, or empty."""
    value = (value or "").strip()
    if not value:
        return None
    match = IMAGE_REF.match(value)
    if match:
        return match.group("digest")
    if re.fullmatch(DIGEST_PATTERN, value):
        return value
    raise ValueError(f"--previous '{value}' is not an image (REPOSITORY@sha256:...) or a digest")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.ecr", description="The registry's images (run from infra/)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    mark = commands.add_parser(
        "mark-release",
        help="Tag the image deployed.<stage>.<git sha>; untag the stage's superseded releases.",
    )
    mark.add_argument("--repository-url", required=True, help="the shared stack's repositoryUrl")
    mark.add_argument("--stage", required=True, help="the stage the image was deployed to")
    mark.add_argument("--digest", required=True, help="the deployed image's digest")
    mark.add_argument(
        "--previous", default="", help="the release the stage ran before (kept tagged)"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    args = _parser().parse_args(argv)
    try:
        name, region = parse_repository_url(args.repository_url)
        previous = previous_digest(args.previous)
        check_digest(args.digest)
        deployed_prefix(args.stage)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if client is None:
            import boto3

            with registry_errors("opening the ECR client"):
                client = boto3.client("ecr", region_name=region)
        marked = Repository(client, name).mark_release(
            args.stage, args.digest, keep=[previous] if previous else []
        )
    except RegistryError as exc:
        print(f"error: {exc.problem}; {exc.fix}", file=sys.stderr)
        return 1
    for line in marked.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
