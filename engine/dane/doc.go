// Package dane is DANE for SMTP (RFC 7672, with RFC 7671 and RFC 6698) as
// segcli applies it: Gather asks DNS what DANE requires of each MX host of a
// destination, and Verify authenticates the certificate chain a server
// presents in a TLS handshake that the caller performs.
//
// # Gathering (RFC 7672 §2)
//
//  1. The MX RRset of the domain, with its DNSSEC status. A lookup that fails
//     temporarily (SERVFAIL without a DNSSEC reason, timeout) or does not
//     validate (bogus) is a reason to defer, never "no MX" (§2.1.1). A null
//     MX (RFC 7505) ends it: the domain takes no mail and no TLSA is asked.
//     No MX RRset: the domain is its own mail host, the implicit MX. An
//     insecure MX RRset does not stop DANE: hosts in signed zones still get it
//     (§2.2.1), but then only the host names count for DANE-TA.
//  2. The A and AAAA records of each MX host. One family that validates with
//     records is enough (a zone whose AAAA denial fails still gets DANE over
//     IPv4); every address of the host is then held to DANE. When no family
//     validates, no TLSA query is sent at all (§2.2.2) and DANE does not apply,
//     with one exception in step 3. A bogus or failed address lookup makes
//     the host unusable.
//  3. CNAMEs (§2.2.2). When the MX host is an alias and the whole chain and
//     the addresses at its end validate, TLSA records are asked at the fully
//     expanded name first and, when that finds no secure RRset, at the name
//     the MX record gave; the name where they are found is the TLSA base
//     domain. When the chain or its target is insecure but the alias record
//     itself validates (asked with a query of type CNAME), only the TLSA
//     records of the name the MX record gave count. When the alias record
//     does not validate, DANE does not apply.
//  4. The TLSA RRset at _25._tcp.BASE (CNAMEs in it followed, every link
//     validated). Secure with usable records: TLS is required and must
//     authenticate the server by them; a failure skips the host, with no
//     fallback to PKIX or clear text. Secure with only unusable records: TLS
//     is required without authentication. A validated denial or an insecure
//     answer: DANE does not apply (the next candidate name is tried first).
//     Bogus or temporary failure: the host must not be used, and no other
//     candidate name is tried, so that an attacker cannot force the choice.
//
// The AD bit is trusted only from a loopback resolver or one marked trusted;
// engine/dns downgrades every other answer to insecure (RFC 4035 §4.9.3).
//
// # Usability and digest agility
//
// Usable records have usage DANE-TA(2) or DANE-EE(3) (PKIX-TA(0) and
// PKIX-EE(1) are not used for SMTP, §3.1.3), selector Cert(0) or SPKI(1),
// matching type Full(0), SHA2-256(1) or SHA2-512(2), digest data of the
// digest's length and Full(0) data that parses. For each usage and selector,
// only the strongest digest present is used (RFC 7671 §9): with "3 1 2"
// records published, "3 1 1" records are ignored; Full(0) records are not
// digests and always count.
//
// # Verification (RFC 7672 §3)
//
// DANE-EE(3) matches the leaf certificate or its public key; its names and
// dates are not checked. DANE-TA(2) matches a certificate the server presents
// above the leaf, a whole certificate in a "2 0 0" record, or a whole public
// key in a "2 1 0" record (which may have signed the top of the presented
// chain, even a lone self-signed leaf); signatures must lead from the leaf to
// that trust anchor, every certificate on the way must be within its dates,
// and the leaf must name (DNS subjectAltName, else common name; "*" as the
// whole left-most label for one label) one of the reference identifiers: the
// TLSA base domain, the MX host name and its secure CNAME expansion, and, when
// the MX RRset is secure, the next-hop domain and its CNAME expansion (at most
// four names, §3.2.2). A DANE-TA record matching the leaf itself does not
// count; a digest of a trust anchor that the server does not send is
// ErrMissingTA. SNI is the TLSA base domain (§8.1).
//
// Gather writes its steps to a maillog.Logger in the appliance's wording
// ("SECURE MX record(mail.example.com) found for example.com", "SECURE TLSA
// record found for MX(mail.example.com) in example.com"), and keeps the same
// lines in the result for daneverify; Report and Summary give its JSON
// object and closing line ("DANE SUCCESS for example.com").
package dane
