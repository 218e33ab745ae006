# syntax=docker/dockerfile:1
# The tenant API's image: `shopfleet-api` as uid 65532 on distroless (glibc,
# no shell, no package manager), the staff web app embedded in the binary.
# Build from the workspace root (see the README's "Images"):
#
#   docker build -f images/api.Dockerfile -t shopfleet/shopfleet-api:0.1.0 .
#
# The binary is built by images/cargo-build.sh, the script e2e/tests/images.rs
# also runs before starting the binary as this image would. glibc rather than
# a static musl binary: the toolchain the tests use has no musl target, and
# the test should start what the image copies.
#
# Base images are pinned by version. To pin one by digest as well (a tag can
# be moved, a digest cannot), append the digest that
# `docker buildx imagetools inspect <image>` prints, e.g.
#   --build-arg RUST_IMAGE=rust:1.95.0-slim-bookworm@sha256:<digest>
# The builder is Debian 12 (bookworm), as the runtime: the binary then needs
# no newer glibc than the runtime has. Node is the version the tests build
# the web app with.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# Reproducible: BuildKit dates the image (its config, history and the
# org.opencontainers.image.created annotation) with this special build arg,
# and with `--output type=image,rewrite-timestamp=true` its files too; build
# scripts that embed a date read it. Pass the commit's time (README, "Images").
ARG SOURCE_DATE_EPOCH=0

# The web app (web/dist), which the API's build embeds (api/build.rs).
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM ${RUST_IMAGE} AS build
ARG SOURCE_DATE_EPOCH
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}
WORKDIR /src
COPY . .
COPY --from=web /src/web/dist web/dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=shopfleet-api-target \
    sh images/cargo-build.sh shopfleet-api \
 && cp target/release/shopfleet-api /shopfleet-api

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="shopfleet-api" \
      org.opencontainers.image.description="Shopfleet's per-tenant API (commerce, analytics, live stream) and its staff web app" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /shopfleet-api /usr/local/bin/shopfleet-api
# The operator runs it with a read-only root filesystem: it writes nothing.
WORKDIR /
USER 65532:65532
# The API (SHOPFLEET_LISTEN) and its metrics (SHOPFLEET_METRICS_LISTEN).
EXPOSE 8080 9090
# Configured by environment (the operator's Deployment); no arguments.
ENTRYPOINT ["/usr/local/bin/shopfleet-api"]
