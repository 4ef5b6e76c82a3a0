# Build (BuildKit, the default builder since Docker 23):
#   docker build -t fptcloud_exporter:dev \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg BRANCH="$(git symbolic-ref -q --short HEAD)" \
#     --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
# (`make docker` does this, tagging the image with the version.)
#
# The image holds no credentials. Give the API token at run time, either as a
# mounted file (--fpt.token-file; it must be readable by UID 65532, the
# image's user) or through the environment:
#   docker run -p 10117:10117 -v /etc/fptcloud:/etc/fptcloud:ro \
#     fptcloud_exporter:dev --fpt.token-file=/etc/fptcloud/token
#   docker run -p 10117:10117 --env-file fptcloud.env fptcloud_exporter:dev
#
# The month cache is kept in the volume /data: name it (-v fptcloud-data:/data)
# to keep the cache across upgrades of the image.

# The builder's Go version must equal go.mod's `go` line (TestDockerfile in internal/policy
# checks it). It runs on the build host's platform and cross-compiles, so a
# multi-platform `docker buildx build --platform ...` needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS builder

WORKDIR /src

# Dependencies first, in their own layer: a source edit doesn't refetch them.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# The exporter keeps its month cache under --storage.path (data/, from the
# working directory). distroless has no shell to create it in the final
# stage: an empty directory is copied from here.
RUN mkdir -p /out/data

# Build metadata, injected into github.com/prometheus/common/version so that
# --version and fptcloud_exporter_build_info carry them. The .git directory is
# not in the build context, so the caller passes them (see above); an empty
# BUILD_DATE means "now".
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=docker
ARG BUILD_DATE=
ARG TARGETOS
ARG TARGETARCH

# CGO_ENABLED=0: a static binary, which the distroless static image needs (it
# has no libc). -trimpath: no build-machine paths in the binary.
RUN BUILD_DATE="${BUILD_DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}" && \
    CGO_ENABLED=0 GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" \
    go build -trimpath -o /out/fptcloud_exporter \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=${BUILD_USER} \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      .

# distroless static: CA certificates (the API is HTTPS), /etc/passwd with the
# nonroot user, no shell, no package manager, no libc. Time zone data does not
# depend on the image: main.go embeds time/tzdata (TestBinaryDeps in internal/policy checks it).
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="fptcloud_exporter" \
      org.opencontainers.image.description="Prometheus exporter for FPT Cloud spend" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=builder /out/fptcloud_exporter /bin/fptcloud_exporter

# Numeric UID:GID (distroless' nonroot), so that Kubernetes' runAsNonRoot can
# verify it without a passwd lookup.
USER 65532:65532

# data/ resolves to /data (distroless' nonroot image would start in
# /home/nonroot): a directory only the exporter's user can read and write,
# and a volume, so that the cache outlives the container.
WORKDIR /
COPY --from=builder --chown=65532:65532 --chmod=0700 /out/data /data
VOLUME /data

EXPOSE 10117

# Exec form: the exporter is PID 1 and gets SIGTERM directly, so it shuts down
# cleanly on `docker stop`.
ENTRYPOINT ["/bin/fptcloud_exporter"]
