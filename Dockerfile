# evbench as a small static image for Kubernetes (deploy/k8s):
#   docker build -t ghcr.io/evbench/evbench:latest --build-arg VERSION=$(git describe --always) .
# Stage 1 builds a static binary (no cgo, so no libc in the image); stage 2
# is distroless static: no shell, no package manager, a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/evbench/evbench/runner.Version=${VERSION}" \
      -o /out/evbench ./cmd/evbench

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/evbench /evbench
# 65532 is distroless's "nonroot"; numeric so runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/evbench"]
