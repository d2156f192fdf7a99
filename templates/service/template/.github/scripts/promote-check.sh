#!/usr/bin/env bash
# promote.yml, job resolve: check the inputs and decide where the digest comes from: the input
# itself, the previous stage's stack output `image`, or (for the first stage) the image built
# from the dispatched commit.
# In: STAGE, DIGEST, REF. Out: previous, lookup (none, stack or ecr).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=promote

dispatched_on_main
previous="${PREVIOUS_STAGE[$STAGE]}"
if [ -n "$DIGEST" ]; then
  is_digest "$DIGEST" \
    || fail "the digest must be sha256: and 64 hex digits (images are deployed by digest, never by tag)"
  lookup=none
elif [ -n "$previous" ]; then
  lookup=stack
else
  lookup=ecr
fi
{
  echo "previous=$previous"
  echo "lookup=$lookup"
} >> "$GITHUB_OUTPUT"
