# syntax=docker/dockerfile:1
# The operator's image: `shopfleet-operator run` as uid 65532 on distroless
# (glibc, no shell, no package manager). Build from the workspace root (see
# the README's "Images"):
#
#   docker build -f images/operator.Dockerfile -t shopfleet/shopfleet-operator:0.1.0 .
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
# no newer glibc than the runtime has.
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# Reproducible: BuildKit dates the image (its config, history and the
# org.opencontainers.image.created annotation) with this special build arg,
# and with `--output type=image,rewrite-timestamp=true` its files too; build
# scripts that embed a date read it. Pass the commit's time (README, "Images").
ARG SOURCE_DATE_EPOCH=0

FROM ${RUST_IMAGE} AS build
ARG SOURCE_DATE_EPOCH
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=shopfleet-operator-target \
    sh images/cargo-build.sh shopfleet-operator \
 && cp target/release/shopfleet-operator /shopfleet-operator

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="shopfleet-operator" \
      org.opencontainers.image.description="Shopfleet's Kubernetes operator: reconciles Tenants and Stores into databases, Secrets and tenant APIs" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /shopfleet-operator /usr/local/bin/shopfleet-operator
# The chart runs it with a read-only root filesystem: it writes nothing.
WORKDIR /
USER 65532:65532
# /metrics, /healthz and /readyz (--listen, default 0.0.0.0:8080).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/shopfleet-operator"]
CMD ["run"]
