# syntax=docker/dockerfile:1
# The operator's image: Node 24 (the version scripts/ensure-node.sh pins), the compiled dist/ and
# production dependencies only, running as the non-root user 65532 on a read-only root file system.
# test/image/image.test.ts replays these stages without Docker and fails when a COPY source is
# missing or excluded by .dockerignore; test/image/run.test.ts builds it with podman (`make image`)
# and runs it as the chart's pod does; test/node/node.test.ts installs the chart with it on a node.
# Where no registry is reachable, NODE_IMAGE names a local base with the same layout (hack/image/base.sh).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# Compile TypeScript to dist/ with the full (dev) dependency tree.
FROM ${NODE_IMAGE} AS builder
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only: no TypeScript, no test tools in the image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="datatrails-operator" \
      org.opencontainers.image.description="Kubernetes operator that keeps DataTrails integrations and OAuth2 bearer tokens in Secrets" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the operator's user can read them, never change them.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/main.js"]
CMD ["run"]
