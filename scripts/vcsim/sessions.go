// SPDX-License-Identifier: BSD-3-Clause
// Sessions as real servers keep them:
//
// -folder-auth: /folder (datastore file access) needs the cookie of a
// live session, and answers 401 otherwise, as ESXi and vCenter do;
// govmomi's simulator serves /folder to anyone.
//
// -session-idle DURATION: a session not used by a SOAP call for that
// long is gone (vCenter's default is 30 minutes, ESXi's hostd similar).
// Requests on /folder do not count as use: on real servers data
// transfers do not keep the session alive.  An expired cookie is
// removed from SOAP requests, so that the simulator answers
// NotAuthenticated as a real server does for a session it forgot.
//
// The bed learns sessions from the Set-Cookie of the simulator's Login
// answers (vcsim_login's sessions are made through it too).
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

var (
	folderAuth  = flag.Bool("folder-auth", false, "require a live session cookie on /folder (401 otherwise)")
	sessionIdle = flag.Duration("session-idle", 0, "expire sessions idle (no SOAP call) for this long")
)

const sessionCookie = "vmware_soap_session"

type bedSession struct {
	last    time.Time
	expired bool
}

type sessionTracker struct {
	next     http.Handler
	mu       sync.Mutex
	sessions map[string]*bedSession
}

// alive says whether the session of that cookie value is live now;
// touch also makes now its last use.
func (t *sessionTracker) alive(key string, touch bool) (known, live bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[key]
	if !ok {
		return false, false
	}
	if !s.expired && *sessionIdle > 0 && time.Since(s.last) > *sessionIdle {
		s.expired = true
		log.Printf("vcsim-session: a session expired after %v idle", *sessionIdle)
	}
	if touch && !s.expired {
		s.last = time.Now()
	}
	return true, !s.expired
}

func (t *sessionTracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		key = c.Value
	}
	if strings.HasPrefix(r.URL.Path, "/folder") {
		if *folderAuth {
			if known, live := t.alive(key, false); !known || !live {
				log.Printf("vcsim-session: 401 to %s %s (no live session)", r.Method, r.URL.Path)
				w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
				http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
				return
			}
		}
		t.next.ServeHTTP(w, r)
		return
	}
	if key != "" {
		if known, live := t.alive(key, true); known && !live {
			// Forgotten: the simulator must not see it either.
			r.Header.Del("Cookie")
		}
	}
	t.next.ServeHTTP(w, r)
	for _, line := range w.Header()["Set-Cookie"] {
		if strings.HasPrefix(line, sessionCookie+"=") {
			v := strings.TrimPrefix(line, sessionCookie+"=")
			if i := strings.IndexByte(v, ';'); i >= 0 {
				v = v[:i]
			}
			v = strings.Trim(v, `"`)
			t.mu.Lock()
			t.sessions[v] = &bedSession{last: time.Now()}
			t.mu.Unlock()
		}
	}
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if !*folderAuth && *sessionIdle == 0 {
			return next
		}
		return &sessionTracker{next: next, sessions: make(map[string]*bedSession)}
	})
}
