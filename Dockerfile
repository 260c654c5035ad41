# One image per app: docker build --build-arg APP=get-api -t gsk/get-api .
# (APP: ingest-worker, get-api or archiver). The build stage runs scripts/image-root.sh, the same
# script the tests run and start the app from: turbo prune, build, pnpm deploy --prod.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG APP
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /src
COPY . .
RUN bash scripts/image-root.sh "${APP}" /app

FROM ${NODE_IMAGE}
ARG APP
ENV NODE_ENV=production PORT=3000
WORKDIR /app
# The code belongs to root and is only readable by the runtime user.
COPY --from=build /app .
# The package's bin (the archiver's CLI, the apps themselves) on PATH.
RUN chmod -R a-w /app \
 && printf '#!/bin/sh\nexec node /app/dist/main.js "$@"\n' > "/usr/local/bin/${APP}" \
 && if [ -f /app/dist/cli.js ]; then printf '#!/bin/sh\nexec node /app/dist/cli.js "$@"\n' > "/usr/local/bin/${APP}"; fi \
 && chmod 755 "/usr/local/bin/${APP}"
USER node
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
