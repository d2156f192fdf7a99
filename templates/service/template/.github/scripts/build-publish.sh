#!/usr/bin/env bash
# build.yml, job build: publish the pushed image's digest as the job's output (the release every
# stage deploys) and in the run's summary.
# In: DIGEST, TAG. Out: digest.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=build

is_digest "$DIGEST" || fail "the pushed image has no digest"
echo "digest=$DIGEST" >> "$GITHUB_OUTPUT"
{
  echo "### Image"
  echo "- tag: \`$TAG\`"
  echo "- digest: \`$DIGEST\`"
} >> "$GITHUB_STEP_SUMMARY"
