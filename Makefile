# segcli: the two commands a new machine needs are `make run` and `make test`.
GO        ?= go
DATA_DIR  ?= $(CURDIR)/.segcli
HOSTNAME  ?= esa.test
BIN       := bin/segcli
PKGS      := ./...
FUZZTIME  ?= 30s

.PHONY: build run test vet fmt-check unit fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/segcli

# The shell, on a data directory inside the checkout (created with factory defaults).
run: build
	./$(BIN) --data-dir $(DATA_DIR) --hostname $(HOSTNAME)

# Every test that needs nothing installed: formatting, vet, unit, dialog, transcript
# and hermetic integration tests (servers on 127.0.0.1 inside go test), with -race.
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target for FUZZTIME, from its committed corpus (testdata/fuzz) on; a
# crasher is written there and fails the target. CI runs every target briefly, by count
# (a time-based -fuzztime can end in a bare "context deadline exceeded" in Go 1.26):
# make fuzz FUZZTIME=2000x.
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  pkg=./$$(dirname $${f#./}); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf bin .bench
include interop.mk
include bench.mk
