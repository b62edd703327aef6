#!/usr/bin/env bash
# Installs (from Debian's packages) and starts PostgreSQL and NATS with JetStream if they are not running.
set -euo pipefail
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
updated=0
need() { if ! command -v "$1" >/dev/null 2>&1 && ! ls $2 >/dev/null 2>&1; then
  [ $updated -eq 1 ] || { $SUDO apt-get update -qq; updated=1; }
  $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$3" >/dev/null; fi; }
if ! up 5432; then
  need pg_ctlcluster "/usr/lib/postgresql/*/bin/postgres" postgresql
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  # trust on loopback, as the tests expect (a developer machine's own scratch server)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  grep -q "^host all all 127.0.0.1/32 trust" "$hba" || $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 50); do up 5432 && break; sleep 0.2; done
fi
if ! up 4222; then
  need nats-server /usr/sbin/nats-server nats-server
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 50); do up 4222 && break; sleep 0.2; done
fi
up 5432 && up 4222 && echo "PostgreSQL and NATS are up"
