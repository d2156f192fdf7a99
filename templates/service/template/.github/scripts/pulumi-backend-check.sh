#!/usr/bin/env bash
# actions/setup-pulumi: CI needs a shared state backend (an s3:// bucket or Pulumi Cloud).
# In: BACKEND_URL.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "$BACKEND_URL" in
  "")
    echo "::error title=$VAR_BACKEND_URL is not set::set the repository variable $VAR_BACKEND_URL (an s3:// bucket or a Pulumi Cloud URL); bootstrap sets it when it configures a shared backend"
    exit 1 ;;
  file://*)
    echo "::error title=Local state backend::a file:// backend lives on one machine and CI cannot reach it; move the state to s3:// or Pulumi Cloud and set $VAR_BACKEND_URL"
    exit 1 ;;
esac
