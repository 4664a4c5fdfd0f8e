# syntax=docker/dockerfile:1
#
# Karere hub image: static Go binaries on distroless, running as nonroot.
#
#   docker build -t karere/hubd --build-arg VERSION=$(git describe --always) .
#   docker run --rm karere/hubd version
#
# The image has no shell or curl, so it carries no HEALTHCHECK: orchestrators
# should probe the HTTP API instead, GET /healthz (liveness) and GET /readyz
# (readiness: PostgreSQL and Redis answer).

# Build on the builder's own platform and cross-compile (CGO is off), so
# multi-arch images build without emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
ENV CGO_ENABLED=0

# Dependencies first, in their own layer and in a cache mount, so a source
# change does not download modules again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# Every command under ./cmd (hubd today; karere too once it exists) goes to
# /out. timetzdata embeds the time zone database, since distroless/static
# ships none we want to depend on for reminder times.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out && \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags timetzdata \
        -ldflags "-s -w -X main.version=$VERSION" \
        -o /out/ ./cmd/... && \
    test -x /out/hubd

# static-debian12: CA certificates and /etc/passwd only; nonroot is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /
# 8080: HTTP API (KARERE_HTTP_ADDR); 2525: inbound SMTP for replies and
# bounces (KARERE_SMTP_ADDR). Both above 1024, so no capabilities are needed.
EXPOSE 8080 2525
USER nonroot:nonroot
ENTRYPOINT ["/hubd"]
CMD ["serve"]
