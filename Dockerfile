# syntax=docker/dockerfile:1
#
# Buurtwag production image: `serve` (default) or `worker`.
#   docker build -t buurtwag .
#   docker run --env-file .env buurtwag            # serve, on PORT (3000)
#   docker run --env-file .env buurtwag worker
#
# Node 26 is the Active LTS line since 2026-10-28 (Node 24 moved to maintenance on 2026-10-20).
# The code also runs on Node >= 20.19 (package.json engines); the image uses the supported line.
ARG NODE_IMAGE=node:26-bookworm-slim

# --- build: every dependency, then the server (TypeScript to dist/) and the web app ------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
# esbuild (the server) and vite (the web app) are dev dependencies, which is why this happens
# here and not in the runtime stage; the runtime runs plain JavaScript, no transpiler.
RUN npm run build \
 && if [ -d web ]; then npm run build:web --if-present; fi \
 && mkdir -p web/dist

# --- production dependencies only --------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# sharp and @node-rs/argon2 come as prebuilt binaries.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/var/lib/buurtwag \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# owned by root, read-only to the app: a compromised process cannot rewrite its own code
COPY --from=deps /app/node_modules ./node_modules
# package.json says "type": "module" for dist/
COPY package.json package-lock.json ./
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# the only writable place (embedded mode, or VAPID keys when not given): a volume in production
RUN mkdir -p /var/lib/buurtwag && chown node:node /var/lib/buurtwag
USER node
EXPOSE 3000
# /healthz answers while the process lives (no dependency checks: that is /readyz). No curl in
# the slim image; Node's fetch does it. A worker has no HTTP port: compose and k8s turn this off.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1 gets SIGTERM directly; main.js drains and exits within 25 s. The smaller young
# generation keeps a node under 300 MB of RSS at peak (bench/README, session 9)
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/main.js"]
CMD ["serve"]
