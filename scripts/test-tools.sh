#!/usr/bin/env bash
# Installs what the tests drive besides cargo and terraform: moto (the local AWS) and dbt-core
# with dbt-athena (the reference the compiler is compared with), in one virtualenv outside the
# repository. Idempotent: a second run only checks. Prints the venv's bin dir for PATH.
set -euo pipefail
VENV=${MDW_VENV:-$HOME/.cache/mdw-venv}
# Exact pins, so a fresh machine gets what the tests were written against:
# - boto3/botocore below 1.44: botocore 1.44 describes Athena as a rest-json service (it was
#   json). moto answers that protocol's paths (GET /workgroups/x, POST /query-executions)
#   with 404, and with 1.44 installed beside it moto also stops answering the json-protocol
#   calls the Rust SDK sends (empty bodies), so dbt-athena's compile aborts and the engine's
#   Athena tests fail.
# - dbt-core/dbt-athena/dbt-adapters exactly: the compiler's differential test compares SQL
#   with what these versions render (dbt-adapters holds the global macros); dbt-core 1.12
#   cannot be installed offline (see shared docs).
# - moto exactly: its answers are what the acceptance tests assert.
REQUIREMENTS=(
  "moto[server]==5.2.6"
  "dbt-core==1.11.16"
  "dbt-adapters==1.24.5"
  "dbt-athena==1.11.1"
  "boto3==1.43.127"
  "botocore==1.43.127"
)
STAMP=$VENV/.mdw-requirements

want=$(printf '%s\n' "${REQUIREMENTS[@]}")
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/dbt" ]; then
  echo "$VENV/bin"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 is required to install moto and dbt (apt-get install python3-venv)" >&2; exit 1; }
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" >&2
printf '%s' "$want" > "$STAMP"
echo "$VENV/bin"
