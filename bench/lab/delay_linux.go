//go:build linux

package main

import (
	"context"
	"fmt"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
)

// delay holds every packet that netfilter hands to queue for d, in the order
// the packets came, then lets it through. On loopback a packet passes the
// OUTPUT hook once, so d per packet is d per direction: a round trip costs 2d.
func delay(ctx context.Context, queue uint16, d time.Duration) error {
	nf, err := nfqueue.Open(&nfqueue.Config{
		NfQueue:      queue,
		MaxPacketLen: 64, // only the verdict matters: copy the headers
		MaxQueueLen:  1 << 16,
		Copymode:     nfqueue.NfQnlCopyPacket,
		WriteTimeout: time.Second,
	})
	if err != nil {
		return fmt.Errorf("nfqueue %d: %w", queue, err)
	}
	defer nf.Close()
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		return fmt.Errorf("nfqueue %d: %w", queue, err)
	}

	type held struct {
		id    uint32
		until time.Time
	}
	// With a constant delay, first in is first due: one FIFO keeps the order.
	// Packet ids grow in the order the packets came, so one batch verdict
	// lets through every packet due by now (one system call, not one a
	// packet: under load the verdicts would otherwise queue behind each
	// other and add to the delay).
	fifo := make(chan held, 1<<16)
	done := make(chan error, 1)
	fail := func(err error) {
		select {
		case done <- fmt.Errorf("nfqueue verdict: %w", err):
		default:
		}
	}
	go func() {
		next, ok := <-fifo
		for ok {
			if wait := time.Until(next.until); wait > 0 {
				time.Sleep(wait)
			}
			last, now, have := next.id, time.Now(), false
		drain: // every packet due by now
			for {
				select {
				case h, more := <-fifo:
					switch {
					case !more:
						ok = false
						break drain
					case h.until.After(now):
						next, have = h, true
						break drain
					}
					last = h.id
				default:
					break drain
				}
			}
			if err := nf.SetVerdictBatch(last, nfqueue.NfAccept); err != nil {
				fail(err)
			}
			if ok && !have {
				next, ok = <-fifo
			}
		}
	}()
	err = nf.RegisterWithErrorFunc(ctx, func(a nfqueue.Attribute) int {
		if a.PacketID != nil {
			fifo <- held{id: *a.PacketID, until: time.Now().Add(d)}
		}
		return 0
	}, func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		select {
		case done <- fmt.Errorf("nfqueue: %w", err):
		default:
		}
		return 1
	})
	if err != nil {
		return fmt.Errorf("nfqueue %d: %w", queue, err)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-done:
		return err
	}
}
