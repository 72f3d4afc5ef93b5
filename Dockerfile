# Two stages: the build compiles TypeScript with every dependency; the image
# that runs holds the production dependencies and the compiled JavaScript
# only: no TypeScript loader at run time, so less memory and a faster start
# (reports/benchmark.md, "Start-up time and memory"). The image serves both
# modes: distributed with DATABASE_URL and REDIS_URL (docker-compose.yml),
# embedded in /data without them. test/unit/docker-compose.test.ts checks
# this file.

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY core ./core
COPY adapters ./adapters
COPY app ./app
RUN npm run build

FROM node:22-slim
WORKDIR /app
ENV NODE_ENV=production PORT=3000 DATA_DIR=/data
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The buyer's pages: web/ is bundled by esbuild on first request
# (adapters/http/app/web-assets.ts), with its tsconfig, which extends the root one.
COPY tsconfig.json ./
COPY web ./web
# The embedded mode's database folder (used when DATABASE_URL is unset),
# writable by the user the service runs as. A named volume mounted here
# starts with this owner; a bind mount keeps the host folder's owner, which
# must let uid 1000 (node) write.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Node's own fetch: the slim image has no curl. 200 only when every dependency answers.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (exec form, no shell, no npm): SIGTERM reaches it
# directly, and app/main.ts handles it (a PID 1 without a handler would
# ignore it). Its one child, PGlite's initdb on a fresh embedded folder
# (adapters/kysely/pglite-initdb.ts), it waits for itself, so there are no
# zombies to reap and no init is needed; `docker run --init` adds one if
# wanted.
CMD ["node", "dist/app/main.js"]
