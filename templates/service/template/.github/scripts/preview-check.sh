#!/usr/bin/env bash
# preview.yml, job preview: preview only once the read-only role and the state backend exist;
# otherwise the comment says why there is no preview.
# In: PREVIEW_ROLE_ARN, BACKEND_URL. Out: ready, report.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -z "$PREVIEW_ROLE_ARN" ] || [ -z "$BACKEND_URL" ]; then
  reason="set the repository variables $VAR_PREVIEW_ROLE and $VAR_BACKEND_URL to preview infrastructure changes"
  echo "::notice title=preview skipped::$reason"
  {
    echo "ready=false"
    echo "report=<!-- pulumi-preview --> **Pulumi preview skipped:** $reason."
  } >> "$GITHUB_OUTPUT"
else
  echo "ready=true" >> "$GITHUB_OUTPUT"
fi
