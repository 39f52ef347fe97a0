#!/bin/sh
# reap.sh WORKDIR: after the interop tests, stop whatever server they started in
# WORKDIR and left running (the test binary killed by a signal it cannot catch, a
# crash), by process id, and fail if there was any. A process belongs to the run when
# its working directory is in WORKDIR or its command line names a file in it: every
# server runs in a directory of WORKDIR (Postfix's daemons in its queue directory).
# interop.mk runs it after every `go test`; it only reports when the tests stopped
# everything themselves.
set -u
w=${1:?usage: reap.sh WORKDIR}
[ -d "$w" ] || exit 0
w=$(cd "$w" && pwd -P)

ours() { # pid: does it belong to this run?
	[ -d "/proc/$1" ] || return 1
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 1
	cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || cwd=
	case "$cwd" in "$w"|"$w"/*) return 0;; esac
	tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$w/"
}

candidates() {
	[ -f "$w/pids" ] && awk '{print $1}' "$w/pids"
	[ -f "$w/postfix/spool/pid/master.pid" ] && tr -d ' ' < "$w/postfix/spool/pid/master.pid"
	for d in /proc/[0-9]*; do echo "${d#/proc/}"; done
}

found=0
for pid in $(candidates | sort -un); do
	[ "$pid" = "$$" ] && continue
	ours "$pid" || continue
	found=$((found + 1))
	echo "reap: pid $pid left running: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" >&2
	kill -TERM "$pid" 2>/dev/null
done
[ "$found" -eq 0 ] && exit 0
sleep 1
for pid in $(candidates | sort -un); do
	[ "$pid" = "$$" ] && continue
	ours "$pid" && kill -KILL "$pid" 2>/dev/null
done
echo "reap: $found process(es) of $w were left running and are now stopped" >&2
exit 1
