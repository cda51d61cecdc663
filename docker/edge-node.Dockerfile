# syntax=docker/dockerfile:1
# edge-node: a static (musl) build, then an image holding only the binary and the CA certificates.
# Build from the repository root:
#   docker build -f docker/edge-node.Dockerfile -t lnfleet/edge-node:dev .
# Runs as a non-root user and needs no writable root filesystem (the manifests mount one
# read-only); its only writable paths are volumes.

FROM rust:1-alpine3.21 AS build
# musl-dev and g++ for C/C++ dependencies; make, cmake, perl, bash and zlib for librdkafka,
# which rdkafka-sys builds from source and links statically.
RUN apk add --no-cache musl-dev g++ make cmake perl bash linux-headers zlib-dev zlib-static ca-certificates
WORKDIR /src
COPY . .
# Alpine's Rust targets x86_64/aarch64-unknown-linux-musl with static linking by default.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p lnfleet-edge --bin edge-node \
    && cp target/release/edge-node /edge-node \
    && ! ldd /edge-node 2>/dev/null | grep -q '=>'

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /edge-node /usr/local/bin/edge-node
# The same uid the manifests run as (runAsUser: 65532); no passwd entry is needed.
USER 65532:65532
EXPOSE 9735 9304
ENTRYPOINT ["/usr/local/bin/edge-node"]
