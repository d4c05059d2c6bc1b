#!/bin/sh
# Staging (TAILSCALE_AUTHKEY set as a Fly secret) is reachable only through Tailscale Serve;
# production starts the app directly behind Fly's public proxy. Migrations are fly.toml's
# release_command: they run once per deploy, not at every machine start.
set -e
if [ -n "${TAILSCALE_AUTHKEY:-}" ]; then
  tailscaled --state=/var/lib/tailscale/tailscaled.state --socket=/var/run/tailscale/tailscaled.sock &
  tailscale up --authkey="${TAILSCALE_AUTHKEY}" --hostname=landlordsoftware-staging
  tailscale serve --bg https / http://localhost:8080
fi
exec npm run start
