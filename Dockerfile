# One image per app: docker build --build-arg APP=get-api -t gsk/get-api .
# (APP: ingest-worker, get-api or archiver). turbo prune keeps only what the app needs;
# pnpm deploy copies its production dependencies; the bundle inlines the workspace packages.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV TURBO_TELEMETRY_DISABLED=1
RUN npm install -g pnpm@10.34.8

FROM base AS prune
ARG APP
WORKDIR /src
COPY . .
RUN pnpm dlx turbo@2.11.11 prune "@gsk/${APP}" --docker

FROM base AS build
ARG APP
WORKDIR /src
COPY --from=prune /src/out/json/ .
# The image already has Node 24: skip the `node` devDependency's download script.
RUN pnpm install --frozen-lockfile --ignore-scripts
COPY --from=prune /src/out/full/ .
RUN pnpm exec turbo run build --filter="@gsk/${APP}" \
 && pnpm --filter "@gsk/${APP}" deploy --prod --legacy /app

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app .
USER node
CMD ["node", "dist/main.js"]
