# syntax=docker/dockerfile:1
# Production image: Node 24 LTS, compiled JavaScript, run-time packages only, non-root,
# migrations applied at start.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
# Without install scripts: the `node` dev dependency (how `npm start` gets Node 24 elsewhere)
# would download a second Node in its preinstall. The Prisma client is then generated as
# postinstall would (WebAssembly; no engine download).
RUN npm ci --ignore-scripts && npm run db:generate
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Then node_modules again with run-time packages only, from npm's cache. `--omit=optional` as well:
# npm keeps a dev package that a run-time package names as an optional peer (@prisma/client names
# prisma and typescript, which bring effect and the rest of the Prisma CLI) unless optional packages
# are left out too. The one run-time package that is optional, pg-cloudflare, is for Cloudflare Workers.
RUN npm run build && npm ci --omit=dev --omit=optional --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma ./prisma
COPY config ./config
COPY views ./views
# Owner-only, as the server insists (it holds the database, the secret key and the operator socket).
RUN mkdir -m 700 -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# The port the server listens on (PORT, set at `docker run -e PORT=…` too), on loopback: keep HOST unset (0.0.0.0).
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Applies pending migrations, then serves. Operator CLI: docker exec <container> node dist/cli/main.js …
CMD ["node", "dist/main.js"]
