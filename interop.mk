# interop.mk: the interop tier (issue 9), included from the Makefile.
#
#   make interop          install the servers if missing, then run ./interop/... against them
#   make interop-install  only install what is missing (Debian's packages; needs root)
#
# The tests start Knot DNS, Unbound, nginx and Postfix on 127.0.1-3.x with the real
# ports 53, 443 and 25 (hence root), stop every one of them by process id, and check
# that nothing is left. interop/testdata/reap.sh is a second line of defence: it kills
# whatever the test binary recorded in its work directory and did not stop (a crash, a
# kill -9), and fails the target if it had to.
#
# SEGCLI_INTEROP_BREAK=tlsa make interop   publishes a wrong TLSA digest on purpose: the
#                                          tier must fail and name the scenario.
# INTEROP_RUN='TestDANE'                   runs only the matching scenarios (go test -run),
# INTEROP_SKIP='TestTelnet/valid$'         skips the matching ones (go test -skip).
# SEGCLI_INTEROP_HOLD=1 make interop       keeps the servers up until Ctrl-C instead of testing
#                                          (to try commands against them; see interop/README.md).

GO ?= go
INTEROP_PKGS    := bind9-dnsutils knot knot-dnsutils ldnsutils unbound nginx-light postfix swaks libnet-ssleay-perl openssl
INTEROP_TIMEOUT ?= 8m
INTEROP_RUN     ?= .
INTEROP_SKIP    ?=

.PHONY: interop interop-install

interop: interop-install
	@w=$$(mktemp -d /tmp/segcli-interop.XXXXXX) && chmod 755 $$w; \
	start=$$(date +%s); \
	$(GO) vet -tags interop ./interop/... && \
	SEGCLI_INTEROP_WORK=$$w GO=$(GO) $(GO) test -tags interop -count=1 -v -timeout $(INTEROP_TIMEOUT) \
	    -run '$(INTEROP_RUN)' -skip '$(INTEROP_SKIP)' ./interop/...; rc=$$?; \
	sh interop/testdata/reap.sh $$w || rc=1; \
	if [ $$rc -eq 0 ]; then rm -rf $$w; else echo "interop: FAILED; servers' configuration and logs kept in $$w"; fi; \
	echo "interop: tests took $$(( $$(date +%s) - start ))s"; \
	exit $$rc

interop-install:
	@missing=; for p in $(INTEROP_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "interop: run as root to install:$$missing" >&2; exit 1; fi; \
	echo "interop: installing$$missing"; start=$$(date +%s); \
	if [ ! -e /usr/sbin/policy-rc.d ]; then \
	  printf '#!/bin/sh\n# segcli interop: no daemon starts on install\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && \
	echo "postfix postfix/mailname string mx.example.test" | debconf-set-selections && \
	apt-get update -qq && \
	apt-get install -y -qq --no-install-recommends $$missing >/dev/null && \
	echo "interop: installed in $$(( $$(date +%s) - start ))s"
