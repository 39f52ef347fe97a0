package dane

import (
	"context"

	"github.com/segcli/segcli/engine/dns"
)

// maxPrefetchHosts bounds the MX hosts whose lookups start at once; the others
// are looked up in turn.
const maxPrefetchHosts = 8

// lookup is a DNS lookup under way.
type lookup struct {
	done chan struct{}
	res  *dns.Result
	err  error
}

func startLookup(ctx context.Context, r Resolver, name string, qtype uint16) *lookup {
	l := &lookup{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.res, l.err = r.Lookup(ctx, name, qtype)
	}()
	return l
}

// wait returns the lookup's answer. The lookup's context bounds it.
func (l *lookup) wait() (*dns.Result, error) {
	<-l.done
	return l.res, l.err
}

// hostLookups are one MX host's address lookups under way: A and AAAA.
type hostLookups struct {
	addr [2]*lookup
}

// prefetched are the lookups of a domain's MX hosts started together.
type prefetched struct {
	hosts  []*hostLookups
	cancel context.CancelFunc
}

// prefetch starts the A and AAAA lookups of the first hosts at once: they do
// not depend on one another, so the addresses of every host cost one round
// trip instead of two per host. The decisions are taken in the same order as
// before (RFC 7672 §2.2.2). The TLSA lookup is not started with them: it is
// asked only once a host's addresses are found secure, as daneverify reports.
func prefetch(ctx context.Context, r Resolver, hosts []dns.MX) *prefetched {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetched{cancel: cancel}
	for _, h := range hosts[:min(len(hosts), maxPrefetchHosts)] {
		host := normalize(h.Host)
		hl := &hostLookups{}
		hl.addr[0] = startLookup(ctx, r, host, dns.TypeA)
		hl.addr[1] = startLookup(ctx, r, host, dns.TypeAAAA)
		p.hosts = append(p.hosts, hl)
	}
	return p
}

// host returns the lookups of the i-th host, nil if none were started.
func (p *prefetched) host(i int) *hostLookups {
	if i < len(p.hosts) {
		return p.hosts[i]
	}
	return nil
}

// stop abandons the lookups not needed and waits until every one has ended.
func (p *prefetched) stop() {
	p.cancel()
	for _, h := range p.hosts {
		<-h.addr[0].done
		<-h.addr[1].done
	}
}
