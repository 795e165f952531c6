// SPDX-License-Identifier: BSD-3-Clause
// The server's TLS, as the tests need to see and shape it:
//
//	-tls12         speak TLS 1.2 at most.  ESXi 7.0 and vCenter 7.0 enable
//	               TLS 1.2 only (VMware's "TLS 1.2 is the default" notes for
//	               vSphere 7), where a full handshake takes two round trips
//	               and a resumed one a single one; Go would otherwise
//	               negotiate TLS 1.3 (one round trip either way).
//	-record-tls F  append a line to F for every TLS connection when its
//	               first request arrives: "TLS1.2 full" or "TLS1.3 resumed",
//	               so that tests can tell whether clients resume sessions.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
)

var (
	tls12     = flag.Bool("tls12", false, "speak TLS 1.2 at most")
	recordTLS = flag.String("record-tls", "", "append \"VERSION full|resumed\" for every TLS connection to this file")
)

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("TLS-0x%04x", v)
}

func init() {
	tlsHooks = append(tlsHooks, func(c *tls.Config) {
		if *tls12 {
			c.MaxVersion = tls.VersionTLS12
		}
	})
	serverHooks = append(serverHooks, func(s *http.Server) {
		if *recordTLS == "" {
			return
		}
		var mu sync.Mutex
		seen := make(map[net.Conn]bool)
		prev := s.ConnState
		s.ConnState = func(c net.Conn, st http.ConnState) {
			mu.Lock()
			switch st {
			case http.StateActive:
				if t, ok := c.(*tls.Conn); ok && !seen[c] {
					seen[c] = true
					cs := t.ConnectionState()
					how := "full"
					if cs.DidResume {
						how = "resumed"
					}
					f, err := os.OpenFile(*recordTLS, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0644)
					if err == nil {
						fmt.Fprintf(f, "%s %s\n", tlsVersionName(cs.Version), how)
						f.Close()
					} else {
						log.Printf("vcsim: recording TLS: %v", err)
					}
				}
			case http.StateClosed, http.StateHijacked:
				delete(seen, c)
			}
			mu.Unlock()
			if prev != nil {
				prev(c, st)
			}
		}
	})
}
