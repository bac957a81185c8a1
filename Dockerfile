# iperfmon as a container image: one static binary on an empty base.
#
#   docker build -t iperfmon .
#   docker run --rm -p 5201:5201/tcp -p 5201:5201/udp iperfmon             # iperfmon server
#   docker run --rm iperfmon client iperf.example.net -t 5
#
# Telegraf with iperfmon beside it, for [[inputs.execd]] (examples/kubernetes):
#
#   docker build --target telegraf -t telegraf-iperfmon .
#
# See docs/deploy.md. test/e2e/dockerfile_test.go builds the binary with the
# RUN line below and checks the image's instructions.

ARG GO_VERSION=1.26
ARG TELEGRAF_VERSION=1.37

# The builder runs on the build host and cross-compiles, so that
# `docker buildx build --platform linux/amd64,linux/arm64 .` needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=
# Static (no libc, no loader), reproducible paths, and the time-zone
# database inside the binary for CRON_TZ= schedules (scratch has none).
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" -o /out/iperfmon ./cmd/iperfmon

# Telegraf's image runs as its own non-root user "telegraf".
FROM telegraf:${TELEGRAF_VERSION} AS telegraf
COPY --from=build /out/iperfmon /usr/local/bin/iperfmon
USER telegraf

# The default target: nothing but the binary, as an unprivileged user.
FROM scratch
COPY --from=build /out/iperfmon /iperfmon
USER 65532:65532
EXPOSE 5201/tcp 5201/udp
ENTRYPOINT ["/iperfmon"]
CMD ["server"]
