# syntax=docker/dockerfile:1
# Production image: Node 24 LTS, compiled JavaScript, non-root, migrations applied at start.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
# postinstall generates the Prisma client (WebAssembly; no engine download needed).
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

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
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Applies pending migrations, then serves. Operator CLI: docker exec <container> node dist/cli/main.js …
CMD ["node", "dist/main.js"]
