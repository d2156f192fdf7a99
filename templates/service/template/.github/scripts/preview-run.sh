#!/usr/bin/env bash
# preview.yml, job preview: `pulumi preview --diff` of every stack as the read-only preview role,
# collected into one report (the pull request comment and the run's summary). Each stage stack
# first gets the image it runs now, so the preview shows real changes, not a missing image.
# In: STACKS (space-separated, shared first). Out: report (multi-line).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="pulumi preview"
cd "$INFRA_DIR"

read -r -a names <<< "$STACKS"
report="$RUNNER_TEMP/preview.md"
budget=$((50000 / ${#names[@]}))
failed=""
{
  echo "<!-- pulumi-preview -->"
  echo "## Pulumi preview"
  echo
  echo "| stack | preview |"
  echo "| --- | --- |"
} > "$report"
for stack in "${names[@]}"; do
  log="$RUNNER_TEMP/preview-$stack.txt"
  if [ "$stack" != "$SHARED_STACK" ]; then
    # The deploy sets the image; git does not hold it.
    if image="$(pulumi stack output image --stack "$stack" 2>/dev/null)" && [ -n "$image" ]; then
      pulumi config set image "$image" --stack "$stack"
    fi
  fi
  if pulumi preview --non-interactive --diff --color never --stack "$stack" > "$log" 2>&1; then
    echo "| $stack | ok |" >> "$report"
  else
    echo "| $stack | **failed** |" >> "$report"
    failed="$failed $stack"
  fi
done
for stack in "${names[@]}"; do
  {
    echo
    echo "<details><summary>$stack</summary>"
    echo
    echo '```'
    tail -c "$budget" "$RUNNER_TEMP/preview-$stack.txt"
    echo
    echo '```'
    echo "</details>"
  } >> "$report"
done
delimiter="REPORT_$(openssl rand -hex 16)"
{
  echo "report<<$delimiter"
  cat "$report"
  echo "$delimiter"
} >> "$GITHUB_OUTPUT"
cat "$report" >> "$GITHUB_STEP_SUMMARY"
[ -z "$failed" ] || fail "failed for:$failed"
