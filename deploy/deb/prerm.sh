#!/bin/sh
# Stop the gateway before its binary goes (not on upgrade: postinst restarts it).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl disable --now tollgate >/dev/null 2>&1 || true
fi
