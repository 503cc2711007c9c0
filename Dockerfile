# syntax=docker/dockerfile:1
#
# Herald in one image: `docker build -t herald .`, then
#   docker run -p 3000:3000 -e JWT_SECRET=… -v herald-data:/data herald
# or the whole cluster (Redis, two nodes, nginx) with `docker compose up`.

# ---- build: dependencies (better-sqlite3 compiles from source when no prebuilt
# binary can be fetched), the admin UI and the server bundle, then the dev
# dependencies pruned away.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# The lockfile layer is cached until package*.json change. `postinstall` runs
# scripts/build-admin.mjs, which does nothing while admin-ui/ is not copied yet.
COPY package.json package-lock.json ./
COPY scripts/build-admin.mjs scripts/build-swap.mjs scripts/
RUN npm ci --no-audit --no-fund

COPY . .
# The UI is built here, with vite from the dev dependencies; the runtime image
# only serves admin-ui/dist (and never runs npm's prestart).
RUN node scripts/build-admin.mjs --force \
 && mkdir -p admin-ui/dist \
 && node scripts/build-server.mjs --force \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: no compiler, no dev dependencies, not root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/server ./dist/server
COPY --from=build /app/admin-ui/dist ./admin-ui/dist
# The image's `node` user (uid 1000) owns only the data folder.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# main.ts stops on SIGTERM: it refuses new work, closes the sockets and the store.
STOPSIGNAL SIGTERM
# No curl in the slim image: Node's fetch asks /readyz (200 when the store, and Redis, answer).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The server runs from its bundle (scripts/build-server.mjs: it starts faster than the
# TypeScript sources through tsx). The flags are server/src/node-flags.ts
# (test/node-flags.test.ts keeps the two in step).
CMD ["node", "--max-semi-space-size=64", "--enable-source-maps", "dist/server/main.mjs"]
