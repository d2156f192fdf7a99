#!/usr/bin/env bash
# pr-env.yml: the text of the pull request's preview comment (the comment job posts it), from
# what the deploy or the teardown did. Nothing to say: no body, no comment.
# In: STATE, PR_NUMBER, URL, IMAGE, HEAD_SHA, ACTIVE, LIMIT, TAKEN_BY, RUN_URL. Out: body.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$INFRA_DIR"

[ -n "$STATE" ] || exit 0
# The carried module needs nothing beyond the standard library.
python3 -m stacks.previews body --pull "$PR_NUMBER" --state "$STATE" --url "$URL" \
  --image "$IMAGE" --sha "$HEAD_SHA" --run-url "$RUN_URL" \
  --max "${LIMIT:-0}" --active "${ACTIVE:-0}" --taken-by "${TAKEN_BY:-0}" > /dev/null
