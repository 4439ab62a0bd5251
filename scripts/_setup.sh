# Shared by scripts/serve and scripts/test: a virtualenv in .venv with the given requirements file.
# Sourced, not run; expects ROOT to be the repository root.

ensure_venv() {
    local requirements="$1"
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
        echo "==> creating .venv"
        python3 -m venv "$ROOT/.venv"
    fi
    echo "==> installing $requirements"
    "$ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/$requirements"
    export PATH="$ROOT/.venv/bin:$PATH"
}
