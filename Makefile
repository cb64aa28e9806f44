# Altafinex webhook receiver. `make help` lists the targets.
# GNU make; recipes run in bash with -e (stop at the first failing command)
# and pipefail (a failing command on the left of a pipe fails the line).

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
PIP       ?= python3 -m pip
FUNCTIONS := ingest processor
# Lambda runs the functions on Graviton (arm64); `build` cross-compiles the
# same way as the SAM build.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
FUZZTIME  ?= 60s

.PHONY: help build-IngestFunction build-ProcessorFunction build deps lint-deps \
	test lint validate run bench fuzz clean

help: ## List the targets
	@grep -E '^[A-Za-z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F ':.*## ' '{ printf "  %-26s %s\n", $$1, $$2 }'

# --- SAM: `sam build` calls build-<LogicalId> with ARTIFACTS_DIR set --------

build-IngestFunction: ## (sam build) ingest bootstrap into $(ARTIFACTS_DIR)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest

build-ProcessorFunction: ## (sam build) processor bootstrap into $(ARTIFACTS_DIR)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/processor

# --- without SAM ------------------------------------------------------------

build: ## Build both bootstraps (linux/arm64, as on Lambda) into build/<function>/bootstrap
	@for f in $(FUNCTIONS); do \
		echo "build/$$f/bootstrap"; \
		$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o build/$$f/bootstrap ./functions/$$f; \
	done

# The tests run the functions under template.yaml's IAM policies, which they
# translate with the SAM translator (aws-sam-translator, brought by cfn-lint),
# imported by python3: the interpreter $(PIP) installs into.
deps: ## Install what tests and local runs need: moto_server and the SAM translator (only if missing)
	@if command -v moto_server >/dev/null 2>&1; then \
		echo "moto_server: $$(command -v moto_server)"; \
	else \
		echo "moto_server not found: installing moto[server]"; \
		$(PIP) install "moto[server]"; \
	fi
	@if python3 -c 'import cfnlint.decode, samtranslator' >/dev/null 2>&1; then \
		echo "SAM translator: $$(python3 -c 'import samtranslator; print(samtranslator.__file__)')"; \
	else \
		echo "SAM translator not found: installing cfn-lint"; \
		$(PIP) install cfn-lint; \
	fi

lint-deps: ## Install cfn-lint (only if missing)
	@command -v cfn-lint >/dev/null 2>&1 || $(PIP) install cfn-lint

test: deps ## Run every test with the race detector (tests start moto_server themselves), then bench/'s own tests
	$(GO) test -race -count=1 ./...
	cd bench && $(GO) test -count=1 ./...

# Tools: staticcheck and govulncheck are tool dependencies in go.mod (`go get
# -tool honnef.co/go/tools/cmd/staticcheck@v0.8.2`, `go get -tool
# golang.org/x/vuln/cmd/govulncheck@v1.9.0`), pinned in go.sum and run with
# `go tool`: nothing to install. govulncheck reads a pinned copy of the
# vulnerability database that scripts/vulncheck.sh builds into build/ (see
# there). cfn-lint comes from `make lint-deps`.
lint: ## gofmt (must list nothing), go vet, staticcheck, govulncheck, cfn-lint
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	GO=$(GO) scripts/vulncheck.sh
	cfn-lint template.yaml

validate: ## Check template.yaml with cfn-lint (translates the SAM transform)
	cfn-lint template.yaml

# Built, then run in place of make's shell: `go run` always exits 1 when
# Ctrl-C reaches it, whatever its program returns, which made make print
# "*** Error 1"; webhookctl itself stops cleanly on SIGINT.
run: deps ## Run the whole pipeline locally against moto_server (Ctrl-C stops it)
	@$(GO) build -o build/webhookctl ./cmd/webhookctl
	@exec build/webhookctl local

bench: ## Benchmarks of the internal packages, 5 runs each (feed to benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/...

fuzz: ## Run every fuzz target for FUZZTIME (default 60s) each
	@pkgs="$$(grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=.aws-sam --exclude-dir=build '^func Fuzz' . | xargs -r -n1 dirname | sort -u)"; \
	if [ -z "$$pkgs" ]; then echo "no fuzz targets found"; exit 1; fi; \
	for p in $$pkgs; do \
		for t in $$($(GO) test -list 'Fuzz.*' "$$p" | grep '^Fuzz' || true); do \
			echo "== $$p $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) "$$p"; \
		done; \
	done

clean: ## Remove build outputs
	rm -rf build .aws-sam

# --- local invoke without Docker (what `sam local invoke` does in a container) --

# aws-lambda-rie, pinned; internal/ops/rie.RIEVersion names the same one.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE         := bin/aws-lambda-rie
FUNCTION    ?= ingest
EVENT       ?= $(if $(filter processor,$(FUNCTION)),events/processor-sqs.json,events/signed/ingest-payment-succeeded.json)

.PHONY: events rie invoke

events: ## Sign the ingest events now into events/signed/ (git ignores it; a signature goes stale after 300 s)
	$(GO) run ./cmd/mkevents write

rie: $(RIE) ## Install aws-lambda-rie into bin/ (only if missing)

$(RIE):
	GOBIN=$(CURDIR)/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

invoke: rie deps ## Run a bootstrap under aws-lambda-rie: make invoke FUNCTION=ingest|processor EVENT=events/….json
	@case "$(FUNCTION)" in ingest|processor) ;; *) echo "FUNCTION must be ingest or processor"; exit 2;; esac
	@case "$(EVENT)" in events/signed/*) $(GO) run ./cmd/mkevents write >/dev/null;; esac # fresh signatures
	CGO_ENABLED=0 $(GO) build -tags lambda.norpc -o build/local/$(FUNCTION)/bootstrap ./functions/$(FUNCTION)
	$(GO) run ./cmd/mkevents invoke -function $(FUNCTION) -event $(EVENT) -rie $(RIE) -bootstrap build/local/$(FUNCTION)/bootstrap

# --- performance (bench/ is a separate Go module; see docs/performance.md) --

BENCH_COUNT ?= 6

.PHONY: bench-peers coldstart sizes load powertune

bench-peers: ## Signature verification vs raw HMAC, stripe-go and Standard Webhooks (2 KB, 64 KB): medians and ratios
	@mkdir -p build
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) . | tee ../build/bench-peers.txt
	cd bench && $(GO) run ./cmd/benchsum -base raw_hmac < ../build/bench-peers.txt

coldstart: deps ## Ingest cold start under aws-lambda-rie (RUNS=20, DELAY=50ms) and bootstrap sizes
	scripts/coldstart.sh

sizes: ## Stripped bootstrap sizes of both functions, arm64 and amd64
	cd bench && $(GO) run ./cmd/coldstart -sizes

# Needs root (it makes cgroup v1 cpu groups under /sys/fs/cgroup/cpu) and
# moto_server; loopback only. POWERTUNE_FLAGS passes flags to the tool, e.g.
# POWERTUNE_FLAGS='-sizes 128,256 -warm 100' or '-latency 10ms'. The email
# sender (the processor's bootstrap serving the email queue) is not in the
# default run: POWERTUNE_FLAGS='-functions sender -sizes 256 -budget 8m' (a
# batch of 10 lasts about 1.3 s, paced), and again with '-batch 1'.
POWERTUNE_FLAGS ?=

powertune: rie deps ## Both functions at 128..1769 MB under Lambda's CPU share (cgroup), moto behind 5 ms per call: markdown table to build/powertune.md
	@mkdir -p build
	cd bench && $(GO) run ./cmd/powertune -root .. -rie ../$(RIE) -out ../build/powertune.md $(POWERTUNE_FLAGS)

load: deps ## Local throughput at concurrency 1, 8, 32 vs moto_server alone (LEVELS, DURATION, MAX)
	scripts/load.sh

# --- chaos (internal/testkit/chaostest): the promises under network faults and crashes --

CHAOS_EVENTS ?= 2000

.PHONY: chaos

# `make test` runs the same test with 300 events under the race detector;
# this run is about scale, so it runs without it (about 3 minutes for 2000).
chaos: deps ## Chaos test with CHAOS_EVENTS (default 2000) events: nothing 2xx lost, nothing applied twice (CHAOS_SEED, CHAOS_LOG=file)
	CHAOS_EVENTS=$(CHAOS_EVENTS) $(GO) test -count=1 -timeout 20m -run '^TestChaos$$' -v ./internal/testkit/chaostest/

.PHONY: flashsale
FLASHSALE_EVENTS ?= 2000
FLASHSALE_CASE ?=
flashsale: deps ## Flash sale of FLASHSALE_EVENTS (default 2000) payments through the local stack under emulated SES and EventBridge quotas: 0 dead letters, each email once (FLASHSALE_CASE: a -run pattern of the cases to run)
	FLASHSALE_EVENTS=$(FLASHSALE_EVENTS) $(GO) test -count=1 -timeout 100m -run '^TestFlashSale$$/$(FLASHSALE_CASE)' -v ./internal/ops/local/ 2>&1 | grep -E '^(---|ok|FAIL|PASS)|flash sale|flashsale_test'
