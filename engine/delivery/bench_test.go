package delivery

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/engine/tlspolicy"
)

// benchBatch is the number of messages one benchmark operation delivers.
const benchBatch = 100

// benchSink starts a sink with STARTTLS and returns the route to it.
func benchSink(b *testing.B) []Host {
	ca := newCA(b, "bench CA")
	sink := startMX(b, "sink.test", mxConf{cert: ca.leaf(b, "sink.test")})
	host, port, _ := net.SplitHostPort(sink.addr())
	p, _ := strconv.Atoi(port)
	return []Host{{Name: host, Port: p}}
}

// BenchmarkDeliver measures messages per second to a local sink over
// STARTTLS (TLS Required), one connection at a time, with a new connection
// per message and with one connection for the whole batch.
func BenchmarkDeliver(b *testing.B) {
	route := benchSink(b)
	data := []byte("From: bench@esa.test\r\nSubject: bench\r\n\r\nA short message of about one kilobyte.\r\n")
	for len(data) < 1024 {
		data = append(data, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"...)
	}
	msgs := make([]Message, benchBatch)
	for i := range msgs {
		msgs[i] = Message{MID: uint64(i + 1), From: "bench@esa.test", Recipients: []Recipient{{To: "rcpt@bench.test"}}, Size: int64(len(data)), Open: Bytes(data)}
	}
	for _, per := range []int{1, benchBatch} {
		b.Run(fmt.Sprintf("messages-per-connection=%d", per), func(b *testing.B) {
			e := New(Config{Log: maillog.Discard{}, Timeout: 5 * time.Second})
			dest := Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired}, Routes: route, MessagesPerConnection: per, Concurrency: 1}
			b.ResetTimer()
			for b.Loop() {
				for _, r := range e.Deliver(context.Background(), dest, msgs, nil) {
					if r.Status != StatusDelivered {
						b.Fatalf("MID %d: %s", r.MID, r)
					}
				}
			}
			b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRunner measures the same delivery through the durable spool on
// disk: enqueue (fsync), claim (fsync), deliver over STARTTLS with reuse,
// record (fsync).
func BenchmarkRunner(b *testing.B) {
	route := benchSink(b)
	fs := afero.NewBasePathFs(afero.NewOsFs(), b.TempDir())
	q, err := queue.Open(queue.Config{Fs: fs})
	if err != nil {
		b.Fatal(err)
	}
	e := New(Config{Log: maillog.Discard{}, Timeout: 5 * time.Second})
	r := NewRunner(RunnerConfig{Queue: q, Engine: e, Destination: func(string) Destination {
		return Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired}, Routes: route, MessagesPerConnection: benchBatch, Concurrency: 1}
	}})
	data := []byte("From: bench@esa.test\r\nSubject: bench\r\n\r\nhello\r\n")
	for b.Loop() {
		for range benchBatch {
			if _, err := q.Enqueue(context.Background(), queue.Envelope{From: "bench@esa.test", To: []string{"rcpt@bench.test"}}, data); err != nil {
				b.Fatal(err)
			}
		}
		if n, err := r.Drain(context.Background()); err != nil || n != benchBatch {
			b.Fatalf("Drain = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
