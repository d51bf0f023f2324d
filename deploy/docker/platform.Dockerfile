# The platform image (gateway + control plane + pool manager in one process, docs/platform.md).
# Build from the repository root:   docker build -f deploy/docker/platform.Dockerfile -t fastapi-platform .
# With FP_RUNTIME_HOST=kubernetes its functions run in runtime Pods (runtime.Dockerfile); it still
# needs Python for bundle checks and bytecode compilation at deploy.
FROM node:20-bookworm-slim AS build
# g++ for the gateway's peer addon (request.client's port; docs/adr/0093-peer-port.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
# The uWebSockets.js binary's parser bugs mended in place, as scripts/setup.sh does (header values,
# chunk sizes and chunk terminators: docs/adr/0085, 0086, 0100; request smuggling behind a lenient
# proxy without them), then the peer addon built against this image's node.
COPY scripts/patch-uws.mjs scripts/build-peer.sh scripts/
RUN node scripts/patch-uws.mjs
COPY tsconfig.json ./
COPY protocol protocol
COPY poolmgr poolmgr
COPY gateway gateway
COPY controlplane controlplane
COPY platform platform
COPY cli cli
COPY bin bin
COPY schemas schemas
COPY templates templates
RUN npx tsc -p . && npm prune --omit=dev && bash scripts/build-peer.sh

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY runtime runtime
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -r runtime/requirements.txt -r runtime/requirements-presets.txt
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/gateway/native gateway/native
COPY --from=build /src/schemas schemas
COPY --from=build /src/templates templates
RUN groupadd --gid 10000 platform && useradd --uid 10000 --gid 10000 --no-create-home --home-dir /var/lib/fastapi-platform platform \
 && mkdir -p /var/lib/fastapi-platform && chown 10000:10000 /var/lib/fastapi-platform
USER 10000:10000
ENV FP_STATE_DIR=/var/lib/fastapi-platform/state FP_HOST=0.0.0.0 FP_PORT=8080 NODE_ENV=production
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/platform/main.js"]
