# syntax=docker/dockerfile:1
#
# One image for both apps and the migration step (see docs/deploy.md):
#   gateway (default CMD): node --enable-source-maps dist/apps/gateway/apps/gateway/src/main.js   (PORT 3001)
#   chats service:         node --enable-source-maps dist/apps/chats/apps/chats/src/main.js       (PORT 3101)
#   migrations (one-shot): node dist/apps/chats/apps/chats/src/main.js migrate
#
#   docker build -t parley:local .
#
# Install scripts are skipped everywhere (--ignore-scripts): the only ones in the lockfile are esbuild's (dev only,
# unused by the build) and @scarf/scarf's telemetry.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# --- build: all dependencies, compile both apps into dist/ ---
FROM base AS build
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json nest-cli.json ./
COPY libs ./libs
COPY apps ./apps
COPY tools/build-web.ts ./tools/build-web.ts
COPY tools/lib ./tools/lib
RUN npm run build

# --- production-deps: runtime dependencies only (no dev dependencies) ---
FROM base AS production-deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only for the app user: the process cannot rewrite its own code, and the container runs
# with a read-only root filesystem in Kubernetes.
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
# The base image's unprivileged "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3001 3101
# Ready = Redis (chats: and Postgres) answer and the app is not draining; `depends_on: condition: service_healthy`
# in docker-compose.yml waits for it. Kubernetes ignores HEALTHCHECK and uses the probes in deploy/k8s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "deploy/docker/healthcheck.mjs", "/health/ready"]
# Exec form, no shell and no npm: node is PID 1 and receives SIGTERM itself; both apps drain on it and exit 0
# within SHUTDOWN_TIMEOUT_MS (give the container a longer stop timeout: compose's stop_grace_period, Kubernetes'
# terminationGracePeriodSeconds).
CMD ["node", "--enable-source-maps", "dist/apps/gateway/apps/gateway/src/main.js"]
