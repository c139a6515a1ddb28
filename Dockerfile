# One multi-stage build; `--target <service>` picks the image (gateway, auth,
# metadata, blob-upload, indexer). Reproducible from the lockfile.
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN npm install --global pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build && pnpm prune --prod

FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime
WORKDIR /app
# Server reflection reads the .proto files at run time.
COPY --from=build /src/proto ./proto
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
USER 10001:10001
ENV NODE_ENV=production

FROM runtime AS gateway
COPY --from=build /src/services/gateway ./services/gateway
CMD ["services/gateway/dist/main.js"]

FROM runtime AS auth
COPY --from=build /src/services/auth ./services/auth
CMD ["services/auth/dist/main.js"]

FROM runtime AS metadata
COPY --from=build /src/services/metadata ./services/metadata
CMD ["services/metadata/dist/main.js"]

FROM runtime AS blob-upload
COPY --from=build /src/services/blob-upload ./services/blob-upload
CMD ["services/blob-upload/dist/main.js"]

FROM runtime AS indexer
COPY --from=build /src/services/indexer ./services/indexer
CMD ["services/indexer/dist/main.js"]
