#!/usr/bin/env bash
# pr-sweep.yml: destroy every preview whose pull request is closed (or gone), or that was not
# deployed for previewTtlHours: GitHub sends no close event for some pull requests, and a close
# run uses the pull request's own (possibly older) workflow file.
# In: GITHUB_TOKEN, GITHUB_RUN_ID (and the backend's login). Out: the job summary.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$INFRA_DIR"

listed="$RUNNER_TEMP/stacks.json"
pulumi stack ls --json > "$listed"
stacks="$(GITHUB_OUTPUT="" venv/bin/python -m stacks.previews sweep --stacks "$listed" | sed -n 's/^destroy=//p')"
echo "## Preview sweep" >> "$GITHUB_STEP_SUMMARY"
if [ -z "$stacks" ]; then
  echo "Nothing to destroy." >> "$GITHUB_STEP_SUMMARY"
  exit 0
fi
cd ..
STACKS="$stacks" bash "$here/pr-destroy.sh"
