# syntax=docker/dockerfile:1
# One multi-stage build for the five services; `--target <service>` picks the image:
#   docker build --target gateway -t ocireg-gateway .   (auth, metadata, blob-upload, indexer, webhooks)
# Reproducible from pnpm-lock.yaml (--frozen-lockfile). The runtime images are
# distroless Node 20 (no shell, no package manager), run as uid 10001, and hold
# only compiled JavaScript, production node_modules, migrations and proto/.
#
# The base images are build arguments, for machines that reach another registry or mirror:
#   BUILD_IMAGE    any Node 20 image with corepack (default node:20-bookworm-slim from Docker Hub)
#   RUNTIME_IMAGE  a Node 20 image whose entrypoint is node (default distroless from gcr.io); e.g.
#                  ocireg-node-base:<key>, which scripts/images.sh builds from Debian packages
# Where no image registry is reachable at all, scripts/images.sh builds the same images
# (same /app layout, user, entrypoint and commands) without Docker.
ARG BUILD_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
ENV CI=true PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN corepack enable && corepack prepare pnpm@10.34.9 --activate
WORKDIR /src
# Dependencies first, from the lockfile alone, so source edits reuse this layer.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch --frozen-lockfile
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline \
 && pnpm build \
 && pnpm install --frozen-lockfile --offline --prod --config.confirmModulesPurge=false \
 && find libs services -depth \( -name src -o -name '*.tsbuildinfo' -o -name '*.test.*' \) -prune -exec rm -rf {} + \
 && rm -rf libs/testenv libs/devstack libs/launcher

FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
# Server reflection reads the .proto files at run time (<app>/proto).
COPY --from=build /src/proto ./proto
USER 10001:10001
# The base image's entrypoint is node; each target names its main script.

FROM runtime AS gateway
COPY --from=build /src/services/gateway ./services/gateway
# The web UI's built files, served by the gateway (WEB_UI_DIR defaults to <app>/web/dist).
COPY --from=build /src/web/dist ./web/dist
EXPOSE 5000 9100
# node's flags for the gateway: a smaller young generation, the collector on the main thread, and collections the gateway can ask for.
# They, its environment and every target's ports are libs/topology's (libs/topology/src/derived-files.test.ts checks them).
CMD ["--max-semi-space-size=4", "--single-threaded-gc", "--expose-gc", "services/gateway/dist/main.js"]
# Fewer glibc arenas, which keep what is freed in them, and freed memory handed back beyond 1 MiB.
ENV MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=1048576

FROM runtime AS auth
COPY --from=build /src/services/auth ./services/auth
EXPOSE 50051 9101
CMD ["services/auth/dist/main.js"]

FROM runtime AS metadata
COPY --from=build /src/services/metadata ./services/metadata
EXPOSE 50052 9102
CMD ["services/metadata/dist/main.js"]

FROM runtime AS blob-upload
COPY --from=build /src/services/blob-upload ./services/blob-upload
EXPOSE 50053 9103
CMD ["services/blob-upload/dist/main.js"]

FROM runtime AS indexer
COPY --from=build /src/services/indexer ./services/indexer
EXPOSE 50054 9104
CMD ["services/indexer/dist/main.js"]

FROM runtime AS webhooks
COPY --from=build /src/services/webhooks ./services/webhooks
EXPOSE 50055 9105
CMD ["services/webhooks/dist/main.js"]
