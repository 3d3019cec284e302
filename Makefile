# Entry points documented in README.md. `make test` is what CI runs (.ci/run).
GO        ?= go
PKGS      := ./...
# Packages with concurrency run under the race detector.
RACE_PKGS := ./runner/... ./drivers/... ./chaos/... ./reports/... ./scenarios/... ./internal/... ./live/...
SCENARIO  ?= burst
DURATION  ?= 10s

.PHONY: run build test vet race unit bench compare-stores bench-peers soak-memory test-browser browser-deps services fuzz clean

## run: the main job on the embedded default store (refstore): nothing to install.
run:
	$(GO) run ./cmd/evbench run $(SCENARIO) --duration $(DURATION)

build:
	$(GO) build -o bin/evbench ./cmd/evbench

## test: vet, then every test, never from the test cache (services may have
## changed), with the race detector on the concurrent packages.
test: services browser-deps vet
	$(GO) test -race -count=1 -timeout 12m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 8m ./cmd/... ./fixtures/... ./probe/... ./plan/... ./deploy/...

vet:
	$(GO) vet $(PKGS)

## bench: performance figures (never asserted in tests). BENCH selects
## benchmarks, COUNT repeats them, BENCH_OUT keeps the output for benchstat.
## Compare two commits (same sitting, same machine):
##   git checkout A && make bench BENCH='Generator|Record|Encode' COUNT=6 BENCH_OUT=/tmp/a.txt
##   git checkout B && make bench BENCH='Generator|Record|Encode' COUNT=6 BENCH_OUT=/tmp/b.txt
##   go run golang.org/x/perf/cmd/benchstat@latest /tmp/a.txt /tmp/b.txt
BENCH     ?= .
COUNT     ?= 1
BENCH_OUT ?= /dev/null
bench:
	bash -o pipefail -c "$(GO) test -run '^$$' -bench '$(BENCH)' -count $(COUNT) -benchmem -timeout 30m $(PKGS) | tee $(BENCH_OUT)"

## compare-stores: one scenario against refstore, postgres, nats (machine's
## servers) and kafka (kfake), side by side, with the fsync floor.
compare-stores:
	./scripts/compare-stores.sh $(SCENARIO) 20s

## bench-peers: evbench against each store's own tool (natscli, pgbench, a
## franz-go loop on kfake) in one sitting, with the fsync floor; writes
## docs/performance.md (about 10 minutes).
bench-peers:
	./scripts/bench-peers.sh

## soak-memory: evbench's own peak RSS over 1, 3 and 10 minute soaks at
## 1000/s against a separate refstore process, with the growth slope and
## PASS/FAIL against 4 B/event + 1 KB/s (SOAK_DURATIONS="60 180 600").
soak-memory:
	./scripts/soak-memory.sh

## fuzz: a short fuzzing session of every parser of outside input (scenario
## YAML, gate expressions, result.json, the refstore wire and record formats, DSNs).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./scenarios/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./reports/gate/
	$(GO) test -run '^$$' -fuzz FuzzReadResult -fuzztime 30s ./reports/
	$(GO) test -run '^$$' -fuzz FuzzFrame -fuzztime 30s ./drivers/refstore/wire/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./drivers/refstore/record/
	$(GO) test -run '^$$' -fuzz FuzzParseDSN -fuzztime 30s ./drivers/kafka/
	$(GO) test -run '^$$' -fuzz FuzzParseDSN -fuzztime 30s ./drivers/nats/
	$(GO) test -run '^$$' -fuzz FuzzRedactDSN -fuzztime 30s ./drivers/

## test-browser: the HTML report and the live dashboard in headless Chromium.
test-browser: browser-deps
	$(GO) test -count=1 -run Browser -v ./reports/ ./live/dashboard/

# browser-deps installs Debian's chromium when missing: always under
# test-browser, and under `make test` only in CI (CI=true), where the browser
# test must not skip.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$(MAKECMDGOALS)" = "test-browser" ] || [ "$$CI" = "true" ]; then \
			echo "installing chromium (Debian package) for the report and dashboard browser tests"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
				|| { echo "could not install chromium"; exit 1; }; \
		else echo "chromium not installed: the browser test will skip (make test-browser installs it)"; fi; \
	fi

# services starts PostgreSQL, NATS, RabbitMQ (and its stream plugin), Redis
# and Mosquitto when they are down and CI=true (they
# normally run before the session starts; a stopped one is restarted with
# the machine's own command). Elsewhere, tests needing them skip.
services:
	@if [ "$$CI" = "true" ]; then ./.ci/services; fi

clean:
	rm -rf bin results
