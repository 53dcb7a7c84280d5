#!/bin/sh
# Checks nginx.conf with the local nginx (`nginx -t`), in a scratch directory: upstream names
# become 127.0.0.1 (no compose DNS here), a throwaway certificate stands in, and paths move to
# the scratch directory. On nginx < 1.25 (Debian 12: 1.22) the lines marked "1.25+" (HTTP/3, the
# `http2` directive) are removed first, so that run does NOT check them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(nginx -v 2>&1 | sed 's/.*nginx\///; s/ .*//')
major=$(echo "$version" | cut -d. -f1)
minor=$(echo "$version" | cut -d. -f2)
mkdir -p "$work/tls" "$work/cache" "$work/logs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=buurtwag.example.org \
  -keyout "$work/tls/privkey.pem" -out "$work/tls/fullchain.pem" 2>/dev/null
user=$(id -un)
conf="$here/nginx.conf"
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 25 ]; }; then
  echo "nginx $version < 1.25: checking without the lines marked 1.25+ (HTTP/3, http2 on)"
  grep -v '# 1.25+' "$conf" > "$work/nginx.in"
else
  cp "$conf" "$work/nginx.in"
fi
sed -e "s|^user nginx;|user $user;|" \
    -e "s|/var/run/nginx.pid|$work/nginx.pid|" \
    -e "s|/etc/nginx/proxy-headers.conf|$here/proxy-headers.conf|" \
    -e "s|/etc/nginx/tls/|$work/tls/|" \
    -e "s|/var/cache/nginx/assets|$work/cache|" \
    -e "s|/var/log/nginx/|$work/logs/|" \
    -e "s/serve-1:/127.0.0.1:/; s/serve-2:3000/127.0.0.2:3000/; s/minio:9000/127.0.0.1:9000/" \
    "$work/nginx.in" > "$work/nginx.conf"
nginx -t -p "$work" -c "$work/nginx.conf" -g "error_log $work/logs/error.log;"
