# syntax=docker/dockerfile:1

# One image serves both services: the compose file's `command` picks the API or a
# worker. The launcher (`npm start`) is left out because containers get their
# Redis from the compose file, not from a private redis-server.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1
# Manifests first: the dependency layer is then reused until a manifest or the lockfile changes.
# npm ci needs every workspace the lockfile names, the test one included.
COPY package.json package-lock.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/storage/package.json packages/storage/
COPY packages/engine/package.json packages/engine/
COPY packages/core/package.json packages/core/
COPY packages/client/package.json packages/client/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/launcher/package.json apps/launcher/
COPY apps/cli/package.json apps/cli/
COPY apps/web/package.json apps/web/
COPY test/package.json test/
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.base.json turbo.json ./
COPY packages packages
COPY apps apps
# The web page reads docs/errors.md at build time (what to do about each failure).
COPY docs/errors.md docs/
RUN npm run build -- --filter=@ferry/api --filter=@ferry/worker

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Without this the default data dir would be /app/.ferry, which the node user cannot write.
ENV FERRY_DATA_DIR=/var/lib/ferry
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/storage/package.json packages/storage/
COPY packages/engine/package.json packages/engine/
COPY packages/core/package.json packages/core/
COPY packages/client/package.json packages/client/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/launcher/package.json apps/launcher/
COPY apps/cli/package.json apps/cli/
COPY apps/web/package.json apps/web/
COPY test/package.json test/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY --from=build /app/packages/contract/dist packages/contract/dist
COPY --from=build /app/packages/storage/dist packages/storage/dist
COPY --from=build /app/packages/engine/dist packages/engine/dist
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/apps/api/dist apps/api/dist
COPY --from=build /app/apps/worker/dist apps/worker/dist
# The web page's static files, which the API serves at /.
COPY --from=build /app/apps/web/dist apps/web/dist
# The code stays root-owned (the service cannot rewrite itself); only the data dir is the node user's.
# A named volume mounted here starts with this ownership, so workers can write finished files.
RUN mkdir -p /var/lib/ferry/files && chown -R node:node /var/lib/ferry
USER node
EXPOSE 3000
CMD ["node", "--enable-source-maps", "apps/api/dist/main.js"]
