#!/bin/sh
# The system user tollgate and its data directory (0700). The service is
# not started: it needs TOLLGATE_ADDR in /etc/default/tollgate first.
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers /usr/lib/sysusers.d/tollgate.conf
elif ! getent passwd tollgate >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/tollgate --no-create-home --shell /usr/sbin/nologin tollgate
fi
install -d -m 0700 -o tollgate -g tollgate /var/lib/tollgate
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if systemctl is-active --quiet tollgate; then
		systemctl try-restart tollgate || true
	fi
fi
echo "tollgate: set TOLLGATE_ADDR in /etc/default/tollgate, then: systemctl enable --now tollgate"
