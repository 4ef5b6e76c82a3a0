# Thin wrappers around the commands the README gives; nothing here is needed
# that those commands don't do. The version metadata is the same as the
# Dockerfile's: -ldflags -X into github.com/prometheus/common/version.

BINARY     ?= fptcloud_exporter
IMAGE      ?= fptcloud_exporter
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
BRANCH     ?= $(shell git symbolic-ref -q --short HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell id -un 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

VERSION_PKG := github.com/prometheus/common/version
LDFLAGS := -s -w \
	-X $(VERSION_PKG).Version=$(VERSION) \
	-X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) \
	-X $(VERSION_PKG).BuildUser=$(BUILD_USER) \
	-X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

# The version .ci/run installs; keep the two in step.
GOLANGCI_LINT_VERSION := v2.15.0

.PHONY: all build test lint lint-install docker clean

all: lint test build

# A static binary, like the one in the image.
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BINARY) .

test:
	go test ./...

lint:
	golangci-lint run ./...

lint-install:
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

docker:
	docker build -t $(IMAGE):$(VERSION) \
		--build-arg VERSION=$(VERSION) \
		--build-arg REVISION=$(REVISION) \
		--build-arg BRANCH=$(BRANCH) \
		--build-arg BUILD_DATE=$(BUILD_DATE) \
		.

clean:
	rm -f $(BINARY)
