#!/usr/bin/env bash
# Installs what the tests drive besides cargo and terraform: moto (the local AWS) and dbt-core
# with dbt-athena (the reference the compiler is compared with), in one virtualenv outside the
# repository. Idempotent: a second run only checks. Prints the venv's bin dir for PATH.
set -euo pipefail
VENV=${MDW_VENV:-$HOME/.cache/mdw-venv}
# Pins keep CI reproducible; dbt-core 1.12 cannot be installed offline (see shared docs).
REQUIREMENTS=("moto[server]==5.*" "dbt-core==1.11.*" "dbt-athena==1.11.*")
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
