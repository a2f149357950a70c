#!/usr/bin/env bash
# Creates and refreshes the per-Airflow virtual environments of this project.
#
# Source it, then call `mi_bootstrap SERIES` (SERIES: 3.3, 2.11 or 2.11-lowest). It sets MI_VENV to
# the venv, .venvs/airflow-SERIES, holding the pinned Airflow and this project (editable, with its
# `test` extra, and `openlineage` outside 2.11-lowest), installed in one resolver run; 2.11-lowest
# is Airflow 2.11 with every direct dependency at its floor (constraints/lowest-direct.txt). A stamp file in the venv holds a hash of
# pyproject.toml, the constraints and the Airflow version; the venv is re-installed when that hash
# changes, and created anew when its interpreter is missing or broken. Set MI_PYTHON to build the
# venvs with another interpreter.
set -euo pipefail

MI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MI_PYTHON="${MI_PYTHON:-python3}"

# The Airflow release tested for each supported series.
mi_airflow_pin() {
    case "$1" in
        3.3) echo "3.3.2" ;;
        2.11 | 2.11-lowest) echo "2.11.2" ;;
        *)
            echo "bootstrap: unknown Airflow series '$1' (known: 3.3, 2.11, 2.11-lowest)" >&2
            return 2
            ;;
    esac
}

# Prints the constraints file that pins a series' dependencies: the floors for *-lowest, else nothing.
mi_constraints_file() {
    if [[ $1 == *-lowest ]]; then echo "$MI_ROOT/constraints/lowest-direct.txt"; fi
}

# Prints the project's extras a series installs: the object-storage and OpenLineage tests need more
# than the floors (aiobotocore a newer aiohttp, openlineage-python a newer requests), the docs are
# built with the current Airflow only.
mi_extras() {
    case "$1" in
        *-lowest) echo "test" ;;
        3.3) echo "test,test-storage,openlineage,docs" ;;
        *) echo "test,test-storage,openlineage" ;;
    esac
}

# mi_install_hash VERSION [CONSTRAINTS_FILE]: prints the hash that says what a venv was installed from.
mi_install_hash() {
    {
        cat "$MI_ROOT/pyproject.toml"
        echo "apache-airflow==$1"
        if [[ -n ${2:-} ]]; then cat "$2"; fi
    } | sha256sum | cut -d' ' -f1
}

# The lines of pip's output that are noise here: the local index lacks some projects' pages.
MI_PIP_NOISE='^WARNING: Location .* is ignored'

# Runs a command quietly: its output goes to a log. On failure the log is shown (without pip's
# noise); on success only its ERROR and WARNING lines are (pip reports dependency conflicts so).
mi_quiet() {
    local log status=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || status=$?
    if ((status != 0)); then
        echo "bootstrap: '$*' failed (exit $status):" >&2
        grep -v -E "$MI_PIP_NOISE" "$log" >&2 || true
    else
        grep -E '^(ERROR|WARNING)' "$log" | grep -v -E "$MI_PIP_NOISE" >&2 || true
    fi
    rm -f "$log"
    return "$status"
}

# mi_bootstrap SERIES: make .venvs/airflow-SERIES current; set MI_VENV to its path.
mi_bootstrap() {
    local series="$1" version venv stamp want started constraints pip_args=()
    version="$(mi_airflow_pin "$series")" || return
    constraints="$(mi_constraints_file "$series")"
    if [[ -n $constraints ]]; then pip_args=(--constraint "$constraints"); fi
    venv="$MI_ROOT/.venvs/airflow-$series"
    stamp="$venv/.mi-install-stamp"
    want="$(mi_install_hash "$version" "$constraints")" || return
    MI_VENV="$venv"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$venv/bin/python" -c "" 2>/dev/null; then
        echo "bootstrap: $venv is up to date (apache-airflow==$version${constraints:+, $(basename "$constraints")})"
        return 0
    fi
    started=$SECONDS
    # `|| return` throughout: callers may run this in a condition, where `set -e` does not apply.
    if ! "$venv/bin/python" -c "" 2>/dev/null; then
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")" || return
        mi_quiet "$MI_PYTHON" -m venv "$venv" || return
    fi
    rm -f "$stamp"
    mi_quiet "$venv/bin/python" -m pip install --no-input --progress-bar off "${pip_args[@]}" \
        "apache-airflow==$version" -e "$MI_ROOT[$(mi_extras "$series")]" || return
    echo "$want" >"$stamp" || return
    echo "bootstrap: installed apache-airflow==$version and the project into $venv in $((SECONDS - started)) s"
}
