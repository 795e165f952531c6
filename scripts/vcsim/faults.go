// SPDX-License-Identifier: BSD-3-Clause
// Busy servers: answers of 502, 503 or 504 and connections reset during
// the TLS handshake, injected when a test asks for them.
//
// -faults FILE names a control file the test writes while the simulator
// runs (so that the bed's own set-up traffic is not hit), one rule a
// line:
//
//	503 3 /sdk          the next 3 requests whose path starts with /sdk
//	                    get HTTP 503 (any status from 400 to 599)
//	reset 2             the next 2 TCP connections are reset (RST) right
//	                    after accept, before the TLS handshake
//
// A count of -1 is "forever".  The file is read at every request and
// connection, and rewritten with the counts left.  Each injection is
// logged ("vcsim-fault: ...") to the simulator's log.
//
// What it models: ESXi's hostd and vCenter's reverse proxy answer 503
// when the service behind them is busy or restarting, and 502/504 when
// it does not answer in time; ESXi accepts 128 HTTPS connections and
// vCenter 2048, and resets those beyond (see docs/testing-remote.md).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

var faultsFile = flag.String("faults", "", "control file of injected faults (see faults.go)")

var faultsMu sync.Mutex

// takeRule consumes one rule of the control file for which match(fields)
// is true (counting it down unless its count is -1) and returns the
// rule's first word, or "".
func takeRule(match func(f []string) bool) string {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	b, err := os.ReadFile(*faultsFile)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	hit := ""
	for i, line := range lines {
		f := strings.Fields(line)
		if hit != "" || len(f) < 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n == 0 || !match(f) {
			continue
		}
		hit = f[0]
		if n > 0 {
			f[1] = strconv.Itoa(n - 1)
			lines[i] = strings.Join(f, " ")
		}
	}
	if hit != "" {
		if err := os.WriteFile(*faultsFile, []byte(strings.Join(lines, "\n")), 0644); err != nil {
			log.Printf("vcsim-fault: rewriting %s: %v", *faultsFile, err)
		}
	}
	return hit
}

// takeFault consumes one matching rule: kind is "reset" (path "") or
// "status" (any numeric rule whose prefix matches path).  It returns the
// rule's first word, or "".
func takeFault(kind, path string) string {
	return takeRule(func(f []string) bool {
		if kind == "reset" {
			return f[0] == "reset"
		}
		code, err := strconv.Atoi(f[0])
		if err != nil || code < 400 || code > 599 {
			return false
		}
		return len(f) <= 2 || strings.HasPrefix(path, f[2])
	})
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if *faultsFile == "" {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hit := takeFault("status", r.URL.Path); hit != "" {
				code, _ := strconv.Atoi(hit)
				log.Printf("vcsim-fault: HTTP %d to %s %s", code, r.Method, r.URL.Path)
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(code)
				fmt.Fprintf(w, "<html><body>%d %s</body></html>\n", code, http.StatusText(code))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	serverHooks = append(serverHooks, func(s *http.Server) {
		if *faultsFile == "" {
			return
		}
		prev := s.ConnState
		// StateNew comes right after accept, before the goroutine that
		// runs the TLS handshake: closing with SO_LINGER 0 sends a RST
		// in the middle of the client's handshake.
		s.ConnState = func(c net.Conn, st http.ConnState) {
			if st == http.StateNew && takeFault("reset", "") != "" {
				raw := c
				if t, ok := c.(*tls.Conn); ok {
					raw = t.NetConn()
				}
				if tcp, ok := raw.(*net.TCPConn); ok {
					_ = tcp.SetLinger(0)
				}
				log.Printf("vcsim-fault: reset the connection from %s", c.RemoteAddr())
				_ = raw.Close()
			}
			if prev != nil {
				prev(c, st)
			}
		}
	})
}
