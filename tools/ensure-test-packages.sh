#!/bin/sh
# Debian packages some tests drive for real: Chromium (test/browser), nginx (test/security, the project's
# deploy/nginx/nginx.conf) and PgBouncer (test/pgbouncer). `npm test` runs this first: it installs what is missing
# with apt-get where it may (root, apt-get present), and otherwise says what to do; the tests themselves then fail
# with a clear message.
set -eu
CHROMIUM="${PARLEY_CHROMIUM:-/usr/bin/chromium}"
missing=""
[ -x "$CHROMIUM" ] || missing="$missing chromium"
command -v nginx >/dev/null 2>&1 || missing="$missing nginx"
[ -x /usr/sbin/pgbouncer ] || missing="$missing pgbouncer"
[ -n "$missing" ] || exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's$missing for the tests (apt-get)..."
  # A failed install must not stop the other tests: the tests that need the package fail and say so.
  # (A policy-rc.d of our own, unless there is one: the nginx and pgbouncer packages must not start their servers.)
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  # shellcheck disable=SC2086
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; } ||
    echo "Could not install$missing with apt-get; the tests that need them will fail." >&2
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
else
  echo "Missing:$missing. Install Debian's packages (apt-get install -y$missing); PARLEY_CHROMIUM names another Chromium." >&2
fi
