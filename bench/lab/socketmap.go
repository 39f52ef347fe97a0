package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// socketmap is one connection to a Postfix socketmap server (the peer's
// daemon): a request is the netstring "NAME KEY", the reply a netstring.
type socketmap struct {
	c net.Conn
	r *bufio.Reader
}

func dialSocketmap(addr string) (*socketmap, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &socketmap{c: c, r: bufio.NewReader(c)}, nil
}

func (s *socketmap) Close() error { return s.c.Close() }

// query asks for key in map name and returns the reply ("OK secure
// match=...", "NOTFOUND ", "TEMP ...").
func (s *socketmap) query(name, key string, timeout time.Duration) (string, error) {
	s.c.SetDeadline(time.Now().Add(timeout))
	req := name + " " + key
	if _, err := fmt.Fprintf(s.c, "%d:%s,", len(req), req); err != nil {
		return "", err
	}
	lenText, err := s.r.ReadString(':')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(lenText[:len(lenText)-1])
	if err != nil || n < 0 || n > 100000 {
		return "", fmt.Errorf("socketmap: bad netstring length %q", lenText)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(s.r, buf); err != nil {
		return "", err
	}
	if buf[n] != ',' {
		return "", fmt.Errorf("socketmap: netstring without its comma")
	}
	return string(buf[:n]), nil
}
