// Package mtasts implements SMTP MTA Strict Transport Security (RFC 8461) for
// outbound mail: discovery of a domain's policy, its fetch, parse and
// persistent cache, the per-delivery decision, MX matching, and the
// verification report behind mtastsverify.
//
// # Protocol, as implemented
//
// A domain that supports MTA-STS publishes a TXT record at _mta-sts.DOMAIN
// (§3.1), such as "v=STSv1; id=20160831085700Z;". The record must begin
// with "v=STSv1" and follow the ABNF exactly: fields separated by ";" with
// optional white space around it, an "id" of 1 to 32 letters and digits, and
// extensions "name=value" that are ignored when well formed and make the
// record invalid when not. CNAMEs are followed; TXT records that do not
// begin with "v=STSv1" are discarded; when more than one STS record remains,
// or the one left is invalid, the domain has no policy (LookupRecord). A TXT
// lookup that fails temporarily is not a denial: it is RecordTempFail.
//
// The policy itself (§3.2, §3.3) is fetched with HTTPS GET from
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt: the host name is resolved
// through the engine's dns.Resolver (never the machine's resolver), SNI is
// mta-sts.DOMAIN, the certificate must be PKIX-valid for that name against
// the configured CA pool, redirects are not followed, only status 200 with
// Content-Type text/plain (parameters allowed) is accepted, at most
// MaxPolicySize bytes are read, connect and total time are bounded, nothing
// is cached at the HTTP level, and the request goes through the configured
// HTTP proxy when there is one. After a failed fetch, the same (domain, id)
// is not fetched again for RetryHoldoff.
//
// ParsePolicy reads the policy's "key: value" lines (LF or CRLF): version
// STSv1, mode enforce, testing or none, max_age of 1 to 10 digits (capped at
// MaxAgeLimit, one year), and mx patterns ("mail.example.com" or
// "*.example.net") that accumulate; mx is required unless the mode is none.
// The first occurrence of any other field wins and unknown fields are
// ignored. What the RFC's grammar forbids but lenient senders accept (blank
// lines, mixed line endings, duplicate fields, malformed extensions, a
// max_age above the cap) is accepted and reported as warnings, so that
// mtastsverify can say where strict senders would disagree.
//
// An MX host matches a pattern (§4.1) when the names are equal, or when the
// pattern is "*." followed by the name with exactly one label removed;
// comparison ignores case and a trailing dot and is made on IDNA A-labels.
//
// # The decision
//
// Engine.Policy applies the rules of RFC 8461 §3.3, §5.1 and §10.2 as the
// project decided them (DESIGN.md, "The engine rules", step 3). The cache
// (the Cache interface; FileCache in the data directory survives restarts)
// holds, per domain, the policy id, the policy text, when it was fetched and
// when it expires (fetched-at + max_age). With a TXT record whose id equals
// the cached one and an unexpired cache, the cached policy applies and
// nothing is fetched. A new id, an expired cache or no cache means a fetch;
// when the fetch fails, an unexpired cached policy still applies, else the
// domain has no policy. A TXT lookup that fails temporarily with nothing
// cached is Defer (the message stays queued); with a valid cached policy,
// that policy applies. A TXT record that disappeared leaves an unexpired
// cached policy in force (with a warning in the mail log). A policy of mode
// none replaces the cached one at once and means no policy. A policy with
// max_age 0 applies to the delivery that fetched it and expires at once.
// Engine.Refresh re-checks cached policies before they expire, independent
// of traffic, as §3.3 and §10.2 suggest.
//
// Under a policy of mode enforce, mail goes only to MX hosts that match it,
// over TLS 1.2 or higher, with a certificate PKIX-valid for the MX host name
// that was dialled (SAN DNS-ID) and SNI set to that name (MXTLSConfig);
// mode testing delivers by the ordinary rules and only reports.
//
// Engine.Verify gathers everything an operator needs before turning MTA-STS
// on: the records, the fetch (URL, status, content type, text), the parsed
// policy with its warnings, and for every MX host whether it matches the
// policy, offers STARTTLS, and presents a PKIX-valid certificate.
package mtasts
