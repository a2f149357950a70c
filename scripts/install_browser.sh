#!/usr/bin/env bash
# Installs the browser of the UI tests (tests/ui): Debian's headless-capable Chromium.
#
#   scripts/install_browser.sh
#
# Idempotent and quiet: does nothing when /usr/bin/chromium already runs. Otherwise installs the
# Debian package `chromium` with apt-get (as root, or through sudo when available), showing its
# output only if it fails. Never fails the caller: when no browser can be installed it says why
# on stderr and exits 0, and the UI tests then skip with that reason.
set -uo pipefail

BROWSER=/usr/bin/chromium

browser_works() { [[ -x $BROWSER ]] && timeout 60 "$BROWSER" --version >/dev/null 2>&1; }

if browser_works; then
    exit 0
fi

if ((EUID == 0)); then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install_browser: $BROWSER is missing and this user can neither run apt-get nor sudo;" \
        "the browser tests will be skipped." >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: $BROWSER is missing and there is no apt-get here;" \
        "the browser tests will be skipped." >&2
    exit 0
fi

started=$SECONDS
log="$(mktemp)"
export DEBIAN_FRONTEND=noninteractive
# Bounded: a hung mirror must not hold up the whole test run.
if timeout 300 "${SUDO[@]}" apt-get update -qq >"$log" 2>&1 &&
    timeout 600 "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1 &&
    browser_works; then
    echo "install_browser: installed $("$BROWSER" --version 2>/dev/null) in $((SECONDS - started)) s"
    rm -f "$log"
    exit 0
fi
echo "install_browser: could not install chromium with apt-get; the browser tests will be skipped." >&2
tail -n 20 "$log" >&2
rm -f "$log"
exit 0
