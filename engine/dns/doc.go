// Package dns is segcli's DNS resolver: a stub resolver that asks the configured
// recursive servers, reports the DNSSEC status of every answer, follows CNAME
// chains and caches what it learns. It is the only engine package that sees
// github.com/miekg/dns types; everything it returns is plain data.
//
// # Status model
//
// The resolver does not validate signatures itself. It sends every query with
// EDNS0 (buffer 1232), the DO bit (RFC 3225) and RD set, and reads the
// validating resolver's verdict from the answer (RFC 4035 §4.9). Every
// [Result] carries one [Status]:
//
//   - Secure: the answer, or the denial of existence (NXDOMAIN, NODATA), has
//     the AD bit set and came from a trusted server. A server is trusted when
//     its address is loopback (127.0.0.0/8, ::1) or when [Server.Trusted] is
//     set (dnsconfig). The AD bit from any other server is ignored, because
//     nothing protects it on the way (RFC 4035 §4.9.3, RFC 7672 §2.1).
//   - Insecure: a usable answer that is not Secure (no AD bit, or an
//     untrusted server). It is good data, but it proves nothing.
//   - Bogus: the validating resolver rejected the data: SERVFAIL with an
//     Extended DNS Error (RFC 8914) whose info-code is a DNSSEC one, or
//     SERVFAIL that turns into an answer when the query is repeated with the
//     CD bit set (RFC 4035 §3.2.2). Records of a bogus answer are never
//     returned. Result.Err wraps [ErrBogus].
//   - TempFail: no usable answer: SERVFAIL for another reason, REFUSED,
//     timeouts, network errors, no configured server, a CNAME loop or an
//     over-long chain. Callers defer; they never read TempFail as a denial.
//
// The zero Status is Insecure, so a zero Result never claims security.
// NXDOMAIN and NODATA (NOERROR with no record of the asked type) are kept
// apart in [Result.NXDomain] and [Result.NoData]; both are answers, not
// errors.
//
// # CNAME chains
//
// A lookup follows the CNAME chain inside an answer to its end and queries the
// target again when the answer stops at a CNAME (RFC 1034 §3.6.2). The chain is
// at most [MaxCNAMEChain] links long; a loop is [ErrCNAMELoop]. The Status of a
// chain is the weakest Status of its steps: it is Secure only if every query
// that built it was Secure. [Result.Steps] keeps the status of each query, as
// RFC 7672 §2.2.2 needs. A query for type CNAME does not follow.
//
// # Cache
//
// Answers are cached per query (name, type). A positive answer lives for the
// smallest TTL of the records used; a negative one for the smaller of the SOA
// record's TTL and its MINIMUM field from the authority section (RFC 2308 §5),
// or [DefaultNegativeTTL] when no SOA came with it. TTLs are capped at
// [MaxCacheTTL] and [MaxNegativeTTL]. Bogus answers are kept for
// [BogusCacheTTL] so that a broken zone is not asked again in a tight loop;
// TempFail is never cached. Cached TTLs count down on the injected clock
// ([Config.Now]).
//
// # Transport
//
// Queries go over UDP first and over TCP when the answer is truncated. Each
// attempt has its own timeout; a lookup makes [Config.Attempts] rounds over
// the servers in order and stops at the first definite answer. Query IDs are
// random; UDP replies whose ID or question does not match are ignored. Nothing
// falls back to the machine's resolver: with no configured server every lookup
// fails with [ErrNoServers], and server addresses must be IP literals.
package dns
