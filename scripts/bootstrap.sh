#!/usr/bin/env bash
# Creates and refreshes the per-Airflow virtual environments of this project.
#
# Source it, then call `mi_bootstrap SERIES`. It sets MI_VENV to the venv, .venvs/airflow-SERIES.
#
# The test environments, SERIES 3.3, 2.11 or 2.11-lowest, hold the pinned Airflow and this project
# (editable, with its `test` extra and, outside 2.11-lowest, `test-storage` and `openlineage`;
# 3.3 also `docs`), installed in one resolver run; 2.11-lowest is Airflow 2.11 with
# every direct dependency at its floor (constraints/lowest-direct.txt).
#
# The smoke environments, SERIES 3.0, 3.1, 3.2 (that Airflow's latest patch on Python 3.11) and
# py3.12, py3.13 (the newest Airflow, 3.3, on that Python, found with pyenv), hold the
# BUILT WHEEL, given as MI_WHEEL (scripts/test builds it once a run), with its `emulator` extra, and
# Airflow installed with that version's constraints file, constraints/airflow-X.Y.txt: the pins
# without which it does not run (Airflow's own constraint files cannot be reached here). They only
# run the example DAGs (scripts/run_examples.py), so the `test` extra is not installed.
#
# A stamp file in the venv holds a hash of pyproject.toml, the constraints, the Airflow version and
# the interpreter; the venv is re-installed when that hash changes, and created anew when its
# interpreter is missing or broken (a smoke venv whose stamp matches only has the wheel replaced).
# Set MI_PYTHON to build the test venvs with another interpreter.
set -euo pipefail

MI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MI_PYTHON="${MI_PYTHON:-python3}"

# The environments that run the whole test suite, and those that run the built wheel's example DAGs.
MI_TEST_SERIES=(3.3 2.11 2.11-lowest)
MI_SMOKE_SERIES=(3.0 3.1 3.2 py3.12 py3.13)

# The Airflow release tested for each supported series.
mi_airflow_pin() {
    case "$1" in
        3.3 | py3.12 | py3.13) echo "3.3.2" ;;
        3.2) echo "3.2.2" ;;
        3.1) echo "3.1.8" ;;
        3.0) echo "3.0.6" ;;
        2.11 | 2.11-lowest) echo "2.11.2" ;;
        *)
            echo "bootstrap: unknown Airflow series '$1' (known: ${MI_TEST_SERIES[*]} ${MI_SMOKE_SERIES[*]})" >&2
            return 2
            ;;
    esac
}

# mi_is_smoke SERIES: true for the environments that install the built wheel.
mi_is_smoke() {
    local series
    for series in "${MI_SMOKE_SERIES[@]}"; do [[ $1 != "$series" ]] || return 0; done
    return 1
}

# Prints the constraints file that pins a series' dependencies: the floors for *-lowest, the
# Airflow version's pins for a smoke environment (py3.X: constraints/airflow-3.3-py3.X.txt if
# there is one, else constraints/airflow-3.3.txt if there is one), else nothing.
mi_constraints_file() {
    local candidate
    if [[ $1 == *-lowest ]]; then
        echo "$MI_ROOT/constraints/lowest-direct.txt"
    elif mi_is_smoke "$1"; then
        local minor
        minor="$(mi_airflow_pin "$1")" || return
        minor="${minor%.*}"
        for candidate in "airflow-$minor-$1.txt" "airflow-$minor.txt"; do
            if [[ -f "$MI_ROOT/constraints/$candidate" ]]; then
                echo "$MI_ROOT/constraints/$candidate"
                return 0
            fi
        done
    fi
}

# mi_python_for SERIES: the interpreter a series' venv is made with: MI_PYTHON (default python3),
# or for py3.X the newest pyenv-installed CPython 3.X, else a python3.X on PATH that runs.
mi_python_for() {
    if [[ $1 != py3.* ]]; then
        echo "$MI_PYTHON"
        return 0
    fi
    local minor="${1#py}" root candidate found=""
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    # The newest patch release (3.10.13 over 3.10.9), not a 3.10.13t or 3.10-dev build.
    found="$(printf '%s\n' "$root"/versions/"$minor".*/bin/python"$minor" | grep -E "/versions/${minor//./\\.}\.[0-9]+/" |
        sort -V | tail -n 1)" || true
    if [[ -n $found ]] && ! "$found" -c "" 2>/dev/null; then found=""; fi
    if [[ -z $found ]] && command -v "python$minor" >/dev/null && "python$minor" -c "" 2>/dev/null; then
        found="$(command -v "python$minor")"
    fi
    if [[ -z $found ]]; then
        echo "bootstrap: no Python $minor found (looked in $root/versions and on PATH): install it, e.g. pyenv install $minor" >&2
        return 2
    fi
    echo "$found"
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

# mi_install_hash VERSION PYTHON [CONSTRAINTS_FILE]: prints the hash that says what a venv was installed from.
mi_install_hash() {
    {
        cat "$MI_ROOT/pyproject.toml"
        echo "apache-airflow==$1"
        "$2" -c "import sys; print(sys.version)"
        if [[ -n ${3:-} ]]; then cat "$3"; fi
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

# mi_bootstrap SERIES: make .venvs/airflow-SERIES current; set MI_VENV to its path. For a smoke
# series, MI_WHEEL must name the built wheel of this project.
mi_bootstrap() {
    local series="$1" version python venv stamp want started constraints pip_args=() project=()
    version="$(mi_airflow_pin "$series")" || return
    python="$(mi_python_for "$series")" || return
    constraints="$(mi_constraints_file "$series")" || return
    if [[ -n $constraints ]]; then pip_args=(--constraint "$constraints"); fi
    if mi_is_smoke "$series"; then
        if [[ ! -f ${MI_WHEEL:-} ]]; then
            echo "bootstrap: the smoke environment $series installs the built wheel: set MI_WHEEL to it" >&2
            return 2
        fi
        project=("${MI_WHEEL}[emulator]")
    else
        project=(-e "${MI_ROOT}[$(mi_extras "$series")]")
    fi
    venv="$MI_ROOT/.venvs/airflow-$series"
    stamp="$venv/.mi-install-stamp"
    MI_VENV="$venv"
    # `|| return` throughout: callers may run this in a condition, where `set -e` does not apply.
    if "$venv/bin/python" -c "" 2>/dev/null; then
        want="$(mi_install_hash "$version" "$venv/bin/python" "$constraints")" || return
    else
        want=""
    fi
    local what="apache-airflow==$version${constraints:+, $(basename "$constraints")}"
    if [[ -n $want && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        if mi_is_smoke "$series"; then
            # Airflow is current; the wheel is this run's (the same version number, other contents).
            mi_quiet "$venv/bin/python" -m pip install --no-input --progress-bar off --no-deps \
                --force-reinstall "$MI_WHEEL" || return
            echo "bootstrap: $venv is up to date ($what); reinstalled $(basename "$MI_WHEEL")"
        else
            echo "bootstrap: $venv is up to date ($what)"
        fi
        return 0
    fi
    started=$SECONDS
    if [[ -z $want ]]; then
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")" || return
        mi_quiet "$python" -m venv "$venv" || return
        want="$(mi_install_hash "$version" "$venv/bin/python" "$constraints")" || return
    fi
    rm -f "$stamp"
    mi_quiet "$venv/bin/python" -m pip install --no-input --progress-bar off "${pip_args[@]}" \
        "apache-airflow==$version" "${project[@]}" || return
    echo "$want" >"$stamp" || return
    echo "bootstrap: installed $what and the project into $venv ($("$venv/bin/python" -V)) in $((SECONDS - started)) s"
}
