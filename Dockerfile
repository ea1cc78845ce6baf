# syntax=docker/dockerfile:1
#
# The iamgate image: built with development dependencies, run with production dependencies and
# the compiled output only, as a non-root user, on a read-only root filesystem.
#
#   docker build -t iamgate:0.1.0 .
#   docker run --rm -p 8400:8400 -p 8401:8401 --read-only --tmpfs /tmp --tmpfs /var/lib/iamgate \
#     -e IAMGATE_UPSTREAM=http://host.docker.internal:8080 iamgate:0.1.0
#   (on Linux add --add-host=host.docker.internal:host-gateway; docs/kubernetes.md, step 1)
#
# scripts/image-recipe.sh replays the build steps below as plain commands (CI runs it), and
# test/deploy/dockerfile.test.ts checks that the two stay in step.
#
# The base image is pinned to an exact Node release. For reproducible builds pin its digest as
# well: `--build-arg NODE_IMAGE=node:22.12.0-bookworm-slim@sha256:<digest>`, the digest taken from
# `docker buildx imagetools inspect node:22.12.0-bookworm-slim`.
ARG NODE_IMAGE=node:22.12.0-bookworm-slim

# ---- build: compile TypeScript, then drop the development dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="iamgate" \
      org.opencontainers.image.description="Authorization sidecar gateway for internal HTTP APIs with AWS IAM policy semantics" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

# A dedicated user with a fixed numeric id (Kubernetes' runAsNonRoot can only verify numeric
# ids), and the only folders iamgate may write to: its state folder and /tmp, which a
# deployment mounts as volumes when the root filesystem is read-only.
RUN groupadd --system --gid 10001 iamgate \
 && useradd --system --uid 10001 --gid iamgate --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin iamgate \
 && mkdir -p /var/lib/iamgate /etc/iamgate \
 && chown iamgate:iamgate /var/lib/iamgate

ENV NODE_ENV=production \
    IAMGATE_CONFIG=/etc/iamgate/iamgate.yaml \
    IAMGATE_PORT=8400 \
    IAMGATE_OPS_PORT=8401

WORKDIR /app
# Code and dependencies stay owned by root: the iamgate user can read them, not change them.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The gRPC definitions the ext_authz server loads at start (extAuthz.grpc).
COPY proto ./proto
# The example policies; mount a folder over /app/policies (and a config over /etc/iamgate) to
# serve your own.
COPY policies ./policies
COPY deploy/iamgate.yaml /etc/iamgate/iamgate.yaml

USER 10001:10001
EXPOSE 8400 8401

# Docker's own health check (Kubernetes uses the chart's probes instead).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.IAMGATE_OPS_PORT||8401)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node is PID 1 itself (exec form, no shell, no npm in between), so SIGTERM from the container
# runtime reaches iamgate, which stops accepting, finishes requests in flight and exits.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--config", "/etc/iamgate/iamgate.yaml"]
