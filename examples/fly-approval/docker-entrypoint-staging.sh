#!/bin/sh
set -e
tailscaled --state=/var/lib/tailscale/tailscaled.state --socket=/var/run/tailscale/tailscaled.sock &
tailscale up --authkey="${TAILSCALE_AUTHKEY}" --hostname=landlordsoftware-staging
tailscale serve --bg https / http://localhost:8080
npx prisma migrate deploy
exec npm run start
