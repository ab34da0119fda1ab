# Run `make help` to list the targets.
GO ?= go
PKGS ?= ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets with what they do
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %s%-10s%s %s\n",on,$$1,off,$$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: ## Run the whole pipeline locally (Redis, emulator, worker, dashboard, sample import); Ctrl-C stops
	$(GO) build -buildvcs=auto -o bin/ ./cmd/...
	./bin/demo

.PHONY: deps
deps: ## Install what the tests need (redis-server, chromium, node with playwright-core and alipay-sdk, libvips-dev, libvips-tools, libheif-examples, versitygw)
	./.ci/deps

.PHONY: test
test: ## Run every test with the race detector (needs redis-server on PATH); conversion in both builds, with and without libvips
	$(GO) build ./...
	$(GO) build -tags vips ./...
	$(GO) test -race -count=1 -timeout 12m $(PKGS)
	$(GO) test -race -count=1 -timeout 10m -tags vips ./convert/...
	$(GO) test -race -count=1 -timeout 10m -tags vips -run 'Convert' ./worker/ ./cmd/worker/... ./cmd/bench/... ./tasks/ ./enqueue/...

.PHONY: bench
bench: ## Run the benchmarks with allocation figures, conversion next to the vips command, then the pipeline table (cmd/bench, updates BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) test -run '^$$' -bench . -benchtime 1x -tags vips ./convert/
	$(GO) run ./cmd/bench --output BENCHMARKS.md

.PHONY: chaos
chaos: ## Run the full chaos suite: each fault on its own, 320 files per run (1 to 3 minutes)
	CHAOS_FULL=1 $(GO) test -race -count=1 -timeout 30m -v -run 'TestScenarios' ./internal/e2e/

.PHONY: lint
lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags vips ./...

.PHONY: fuzz
fuzz: ## Fuzz the validator for 30 seconds
	$(GO) test -run '^$$' -fuzz Fuzz -fuzztime 30s -fuzzminimizetime 5s ./validate/
