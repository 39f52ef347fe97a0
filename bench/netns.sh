#!/usr/bin/env bash
# bench/netns.sh LAB [lab run flags]: runs `LAB run` inside a network namespace that
# has only its own loopback interface, then removes the namespace and every process
# left in it, whatever happens. Needs root (ip netns, iptables inside the namespace).
set -euo pipefail
ns=segcli-bench-$$
lab=$1; shift

cleanup() {
	rc=$?
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		echo "bench: killing processes left in the namespace: $pids" >&2
		kill -9 $pids 2>/dev/null || true
		rc=1
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "/etc/netns/$ns"
	if ip netns list | grep -q "^$ns\b"; then
		echo "bench: namespace $ns could not be removed" >&2
		rc=1
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "bench: make bench needs root (a network namespace and iptables rules inside it)" >&2
	exit 1
fi
ip netns add "$ns"
ip -n "$ns" link set lo up
# ip netns exec bind-mounts this file over /etc/resolv.conf: the peer reads it.
mkdir -p "/etc/netns/$ns"
echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
if ip netns exec "$ns" ip route get 1.1.1.1 >/dev/null 2>&1; then
	echo "bench: the namespace has a route out; refusing to run" >&2
	exit 1
fi
ip netns exec "$ns" taskset -c 0 "$lab" run "$@"
