#!/usr/bin/env bash
# Installs the servers some tests need from Debian's packages: Chromium for the UI tests
# (tests/ui) and redis-server for the shared rate limiter's tests.
#
#   scripts/install_servers.sh                  # both
#   scripts/install_servers.sh redis-server     # only what is named
#
# Idempotent and quiet: does nothing for a package whose program already runs. Otherwise installs
# the missing packages with one apt-get (as root, or through sudo when available), showing its
# output only if it fails. Never fails the caller: when a package cannot be installed it says why
# on stderr and exits 0, and the tests needing it then skip with that reason. Nothing is started:
# the tests start each server themselves, on 127.0.0.1, and stop it.
set -uo pipefail

# The program that proves each package works.
declare -A PROGRAM=([chromium]=/usr/bin/chromium [redis-server]=/usr/bin/redis-server)

works() { [[ -x ${PROGRAM[$1]} ]] && timeout 60 "${PROGRAM[$1]}" --version >/dev/null 2>&1; }

wanted=("$@")
((${#wanted[@]})) || wanted=(chromium redis-server)
missing=()
for package in "${wanted[@]}"; do
    if [[ -z ${PROGRAM[$package]:-} ]]; then
        echo "install_servers: unknown package $package (known: ${!PROGRAM[*]})" >&2
        exit 2
    fi
    works "$package" || missing+=("$package")
done
((${#missing[@]})) || exit 0

if ((EUID == 0)); then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install_servers: ${missing[*]} missing and this user can neither run apt-get nor sudo;" \
        "the tests needing them will be skipped." >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_servers: ${missing[*]} missing and there is no apt-get here;" \
        "the tests needing them will be skipped." >&2
    exit 0
fi

started=$SECONDS
log="$(mktemp)"
export DEBIAN_FRONTEND=noninteractive
# Bounded: a hung mirror must not hold up the whole test run. redis-server's package starts a
# service where an init system runs; policy-rc.d-less containers have none, and nothing here
# relies on it.
if timeout 300 "${SUDO[@]}" apt-get update -qq >"$log" 2>&1 &&
    timeout 600 "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    :
fi
status=0
for package in "${missing[@]}"; do
    if works "$package"; then
        echo "install_servers: installed $package ($("${PROGRAM[$package]}" --version 2>/dev/null | head -n 1))" \
            "in $((SECONDS - started)) s"
    else
        echo "install_servers: could not install $package with apt-get; the tests needing it will be skipped." >&2
        status=1
    fi
done
((status == 0)) || tail -n 20 "$log" >&2
rm -f "$log"
exit 0
