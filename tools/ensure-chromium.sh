#!/bin/sh
# The browser test (test/browser) drives Debian's Chromium. `npm test` runs this first: it installs the package with
# apt-get where it is missing and we may (root, apt-get present), and otherwise says what to do; the test itself then
# fails with a clear message if there is still no Chromium.
set -eu
CHROMIUM="${PARLEY_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test (apt-get)..."
  # A failed install must not stop the other tests: the browser test then fails and says what is missing.
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
    echo "Could not install chromium with apt-get; the browser test will fail." >&2
else
  echo "No Chromium at $CHROMIUM: install Debian's package (apt-get install -y chromium) or set PARLEY_CHROMIUM." >&2
fi
