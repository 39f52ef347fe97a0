# bench.mk: `make bench` (the performance issue), included from the Makefile.
#
#   make bench            Go benchmarks, then segcli side by side with postfix-mta-sts-resolver
#                         in a network namespace (bench/netns.sh, bench/lab); prints every
#                         figure and ratio and rewrites the generated part of BENCHMARKS.md.
#   make bench-install    install the peer (with uvloop, its recommended event loop, which the
#                         figures were measured with) and iptables if missing (Debian's packages; root)
#
# BENCH_DOMAINS (10000), BENCH_RTT (20ms), BENCH_COUNT (5) change the run.

BENCH_PKGS    := postfix-mta-sts-resolver python3-uvloop iptables iproute2
BENCH_DOMAINS ?= 10000
BENCH_RTT     ?= 20ms
BENCH_COUNT   ?= 5
BENCH_OUT     := .bench
# Each line: package and benchmark pattern. -cpu 1: figures are per core.
BENCH_GO := './cmd/segcli:Startup' './store:Commit10000|Write10000Plain' './engine/mtasts:.' \
            './engine/dns:.' './engine/dane:.' './commands/destconfig:.' './engine/delivery:.' 

.PHONY: bench bench-install

bench: build bench-install
	@$(GO) build -o bin/benchlab ./bench/lab
	@mkdir -p $(BENCH_OUT) && : > $(BENCH_OUT)/gobench.txt
	@set -e; for spec in $(BENCH_GO); do \
	  pkg=$${spec%%:*}; pat=$${spec#*:}; \
	  cmd="go test -run '^\$$' -bench '$$pat' -benchmem -cpu 1 -benchtime 1s -count $(BENCH_COUNT) $$pkg"; \
	  echo "== $$cmd"; echo "# command: $$cmd" >> $(BENCH_OUT)/gobench.txt; \
	  $(GO) test -run '^$$' -bench "$$pat" -benchmem -cpu 1 -benchtime 1s -count $(BENCH_COUNT) $$pkg | tee -a $(BENCH_OUT)/gobench.txt; \
	done
	@w=$$(mktemp -d /tmp/segcli-bench.XXXXXX) && chmod 755 $$w; \
	bash bench/netns.sh $(CURDIR)/bin/benchlab -segcli $(CURDIR)/bin/segcli -work $$w \
	    -gobench $(BENCH_OUT)/gobench.txt -write BENCHMARKS.md -domains $(BENCH_DOMAINS) -rtt $(BENCH_RTT); rc=$$?; \
	if [ $$rc -eq 0 ]; then rm -rf $$w; else echo "bench: FAILED; work directory kept in $$w"; fi; \
	exit $$rc

bench-install:
	@missing=; for p in $(BENCH_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "bench: run as root to install:$$missing" >&2; exit 1; fi; \
	echo "bench: installing$$missing"; \
	if [ ! -e /usr/sbin/policy-rc.d ]; then \
	  printf '#!/bin/sh\n# segcli: no daemon starts on install\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null
