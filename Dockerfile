# syntax=docker/dockerfile:1
#
# Container image of cloudflare_magic_exporter: a static binary on distroless.
#
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg BRANCH=$(git rev-parse --abbrev-ref HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
#     -t cloudflare_magic_exporter .

# Go version of go.mod's go directive (deploy_test.go checks they agree).
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=unknown
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# Static (no cgo), reproducible paths, the version stamped where
# cloudflare_magic_exporter_build_info and --version read it, and the time
# zone database built in (timetzdata) so connector time zones resolve on any
# base image.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags timetzdata \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/cloudflare_magic_exporter .

# distroless/static: CA certificates (for api.cloudflare.com), tzdata and
# /etc/passwd with the nonroot user; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=unknown
ARG REVISION=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="cloudflare_magic_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Cloudflare Magic WAN Connectors and apps" \
      org.opencontainers.image.source="https://github.com/magicwan-exporter/cloudflare_magic_exporter" \
      org.opencontainers.image.url="https://github.com/magicwan-exporter/cloudflare_magic_exporter" \
      org.opencontainers.image.documentation="https://github.com/magicwan-exporter/cloudflare_magic_exporter/blob/main/README.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${BUILD_DATE}"
COPY --from=build /out/cloudflare_magic_exporter /bin/cloudflare_magic_exporter
# nonroot of distroless, numeric so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
EXPOSE 10192
ENTRYPOINT ["/bin/cloudflare_magic_exporter"]
