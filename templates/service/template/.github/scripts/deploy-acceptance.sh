#!/usr/bin/env bash
# deploy-stage.yml: the acceptance suite (acceptance/) against the stage just deployed, when the
# stage's acceptanceRun asks for it (auto: the stages before the first manual one; always;
# never). The suite writes acceptance/results/ (junit.xml, verdict.json, summary.md) and appends
# its table to the job summary; the next steps upload the results and record the verdict.
# In: STAGE, URL. Out: ran (true or false). Exit: the suite's (0 passed).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="acceptance suite"

settings="$("$INFRA_DIR/venv/bin/python" -m acceptance.settings --stage "$STAGE")" \
  || fail "the stage's acceptance settings are not valid (infra/Pulumi.$STAGE.yaml)"
if [ "$(jq -r '.runs_after_deploy' <<<"$settings")" != true ]; then
  echo "The acceptance suite does not run after deploying $STAGE (acceptanceRun: $(jq -r '.run' <<<"$settings"))"
  echo "ran=false" >> "$GITHUB_OUTPUT"
  exit 0
fi
echo "ran=true" >> "$GITHUB_OUTPUT"
venv="$RUNNER_TEMP/acceptance-venv"
python -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --editable 'app[acceptance]'
echo "Acceptance suite against $URL (at most $(jq -r '.max_seconds' <<<"$settings") s)"
"$venv/bin/python" -m pytest acceptance --base-url "$URL" --stage "$STAGE"
