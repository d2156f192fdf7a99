#!/usr/bin/env bash
# pr-sweep.yml: destroy every preview whose pull request is closed (or gone), or that was not
# deployed for previewTtlHours: GitHub sends no close event for some pull requests, and a close
# run uses the pull request's own (possibly older) workflow file.
# In: GITHUB_TOKEN, GITHUB_RUN_ID, RUN_URL (and the backend's login). Out: the job summary, and
# comments (JSON: each destroyed preview's pull request and its comment's new text).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$INFRA_DIR"

listed="$RUNNER_TEMP/stacks.json"
pulumi stack ls --json > "$listed"
verdicts="$(GITHUB_OUTPUT="" venv/bin/python -m stacks.previews sweep --stacks "$listed" --run-url "${RUN_URL:-}")"
stacks="$(sed -n 's/^destroy=//p' <<< "$verdicts")"
echo "## Preview sweep" >> "$GITHUB_STEP_SUMMARY"
if [ -z "$stacks" ]; then
  echo "Nothing to destroy." >> "$GITHUB_STEP_SUMMARY"
  exit 0
fi
(cd .. && STACKS="$stacks" bash "$here/pr-destroy.sh")
# What each destroyed preview's comment says, for the comment job (after the destroy succeeded).
grep '^comments=' <<< "$verdicts" >> "$GITHUB_OUTPUT"
