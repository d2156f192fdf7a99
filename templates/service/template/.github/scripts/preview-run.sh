#!/usr/bin/env bash
# preview.yml, job preview: `pulumi preview --diff` of every stack as the read-only preview role,
# collected into one report (the pull request comment and the run's summary). Each stage stack
# first gets the image it runs now, so the preview shows real changes, not a missing image.
# Each stack the pull request changes is previewed once more as JSON (with its unchanged
# resources) and priced by stacks/cost_change.py: the comment shows the monthly cost change.
# In: STACKS (space-separated, shared first), AWS_REGION. Out: report (multi-line).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="pulumi preview"
cd "$INFRA_DIR"

read -r -a names <<< "$STACKS"
report="$RUNNER_TEMP/preview.md"
budget=$((50000 / ${#names[@]}))
failed=""
priced=()
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
    if grep -Eq '[0-9]+ to (create|update|delete|replace)' "$log"; then
      digest="$RUNNER_TEMP/preview-$stack.json"
      if pulumi preview --non-interactive --json --show-sames --stack "$stack" > "$digest" 2> /dev/null; then
        priced+=("$stack=$digest")
      fi
    fi
  else
    echo "| $stack | **failed** |" >> "$report"
    failed="$failed $stack"
  fi
done
{
  echo
  if [ "${#priced[@]}" -gt 0 ]; then
    python -m stacks.cost_change --region "${AWS_REGION:?}" "${priced[@]}" \
      || echo "(the monthly cost change could not be computed: see the run's log)"
  elif [ -z "$failed" ]; then
    echo "No stack changes: the monthly cost stays as it is."
  fi
} >> "$report"
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
