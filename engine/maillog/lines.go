package maillog

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Entry is one line of the mail log with its level: the helpers below build
// the delivery lines in the appliance's wording, so that every part of the
// engine writes them alike.
type Entry struct {
	Level Level
	Text  string
}

// Log writes the entry to l (nil: nowhere).
func (e Entry) Log(l Logger) {
	if l != nil {
		l.Logf(e.Level, "%s", e.Text)
	}
}

// String returns the entry as Format renders it without a time stamp.
func (e Entry) String() string { return Format(time.Time{}, e.Level, e.Text) }

// NewSMTP: "New SMTP DCID 5 interface 192.0.2.1 address 198.51.100.7 port 25".
func NewSMTP(dcid uint64, iface, addr string, port int) Entry {
	return Entry{Info, fmt.Sprintf("New SMTP DCID %d interface %s address %s port %d", dcid, iface, addr, port)}
}

// TLSSuccess: "DCID 5 TLS success protocol TLSv1.3 cipher TLS_AES_128_GCM_SHA256".
func TLSSuccess(dcid uint64, version, cipher uint16) Entry {
	return Entry{Info, fmt.Sprintf("DCID %d TLS success protocol %s cipher %s", dcid, TLSVersion(version), CipherName(cipher))}
}

// TLSDeferring: "DCID 5 TLS deferring: verify error: peer cert does not match
// domain" — TLS with verification was required and the check failed.
func TLSDeferring(dcid uint64, verifyError string) Entry {
	return Entry{Warning, fmt.Sprintf("DCID %d TLS deferring: verify error: %s", dcid, verifyError)}
}

// TLSVerifyFailed: a Preferred - Verify connection whose certificate did not
// verify; the delivery goes on over TLS without verification.
func TLSVerifyFailed(dcid uint64, verifyError string) Entry {
	return Entry{Warning, fmt.Sprintf("DCID %d TLS verify failed, delivering without verification: verify error: %s", dcid, verifyError)}
}

// TLSFailed: "DCID 5 TLS failed: <reason>" — the STARTTLS exchange or the
// handshake failed.
func TLSFailed(dcid uint64, reason string) Entry {
	return Entry{Warning, fmt.Sprintf("DCID %d TLS failed: %s", dcid, reason)}
}

// TLSRequired: "DCID 5 TLS was required but could not be successfully
// negotiated".
func TLSRequired(dcid uint64) Entry {
	return Entry{Warning, fmt.Sprintf("DCID %d TLS was required but could not be successfully negotiated", dcid)}
}

// TLSNotOffered: the server does not offer STARTTLS and the destination allows
// clear text.
func TLSNotOffered(dcid uint64) Entry {
	return Entry{Info, fmt.Sprintf("DCID %d TLS not offered by the server, delivering in clear text", dcid)}
}

// DANEFailed: the server did not authenticate by its TLSA records; the MX
// host is not used (no fallback).
func DANEFailed(dcid uint64, host, reason string) Entry {
	return Entry{Warning, fmt.Sprintf("DCID %d DANE verification failed for MX(%s): %s", dcid, host, reason)}
}

// DANESuccess: the server authenticated by its TLSA records.
func DANESuccess(dcid uint64, host string) Entry {
	return Entry{Info, fmt.Sprintf("DCID %d DANE SUCCESS for MX(%s)", dcid, host)}
}

// DeliveryStart: "Delivery start DCID 5 MID 7 to RID [0]".
func DeliveryStart(dcid, mid uint64, rids []int) Entry {
	return Entry{Info, fmt.Sprintf("Delivery start DCID %d MID %d to RID %s", dcid, mid, RIDs(rids))}
}

// MessageDone: "Message done DCID 5 MID 7 to RID [0]".
func MessageDone(dcid, mid uint64, rids []int) Entry {
	return Entry{Info, fmt.Sprintf("Message done DCID %d MID %d to RID %s", dcid, mid, RIDs(rids))}
}

// Response: "MID 7 RID [0] Response '2.0.0 Ok: queued as 1234'".
func Response(mid uint64, rids []int, reply string) Entry {
	return Entry{Info, fmt.Sprintf("MID %d RID %s Response '%s'", mid, RIDs(rids), reply)}
}

// Delayed: "Delayed: DCID 5 MID 7 to RID [0] - <reason>" — a temporary
// failure; the recipient stays queued.
func Delayed(dcid, mid uint64, rid int, reason string) Entry {
	return Entry{Info, fmt.Sprintf("Delayed: DCID %d MID %d to RID [%d] - %s", dcid, mid, rid, reason)}
}

// Bounced: "Bounced: DCID 5 MID 7 to RID [0] - <reason>" (DCID 0 when no
// connection was involved: an expired message, a null MX).
func Bounced(dcid, mid uint64, rid int, reason string) Entry {
	return Entry{Info, fmt.Sprintf("Bounced: DCID %d MID %d to RID [%d] - %s", dcid, mid, rid, reason)}
}

// Close: "DCID 5 close".
func Close(dcid uint64) Entry { return Entry{Info, fmt.Sprintf("DCID %d close", dcid)} }

// ConnectionError: "Connection Error: DCID 5 domain: example.com IP:
// 198.51.100.7 port: 25 details: <reason>".
func ConnectionError(dcid uint64, domain, ip string, port int, details string) Entry {
	return Entry{Warning, fmt.Sprintf("Connection Error: DCID %d domain: %s IP: %s port: %d details: %s", dcid, domain, ip, port, details)}
}

// Queued: "MID 7 queued for delivery".
func Queued(mid uint64) Entry { return Entry{Info, fmt.Sprintf("MID %d queued for delivery", mid)} }

// MessageFinished: "Message finished MID 7 done" (how is "done" when every
// recipient was delivered or bounced, "aborted" when recipients were
// deleted).
func MessageFinished(mid uint64, how string) Entry {
	return Entry{Info, fmt.Sprintf("Message finished MID %d %s", mid, how)}
}

// RIDs renders recipient indexes as the appliance does: "[0]", "[0, 1]".
func RIDs(rids []int) string {
	s := make([]string, len(rids))
	for i, r := range rids {
		s[i] = strconv.Itoa(r)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// TLSVersion names a TLS version as the appliance's logs do: "TLSv1.3".
func TLSVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// opensslNames are the OpenSSL names of the cipher suites Go negotiates, the
// names the appliance's logs use. TLS 1.3 suites have the same name in both.
var opensslNames = map[uint16]string{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
}

// CipherName names a cipher suite as OpenSSL (and so the appliance) does:
// "ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256".
func CipherName(id uint16) string {
	if n, ok := opensslNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}
