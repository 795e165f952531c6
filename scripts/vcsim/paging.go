// SPDX-License-Identifier: BSD-3-Clause
// Paged property retrieval, as real servers do it and govmomi's
// simulator (0.24) does not: RetrievePropertiesEx returns at most
// options.maxObjects objects (and, with -page-size N, at most N even
// when the client set no limit: servers may return fewer objects than
// asked, with a token), and a token for ContinueRetrievePropertiesEx to
// fetch the rest, page by page.  A token is good for one use.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

var pageSize = flag.Int("page-size", 0, "at most this many objects per RetrievePropertiesEx page (0: only maxObjects limits)")

var (
	reMaxObjects = regexp.MustCompile(`<maxObjects>\s*([0-9]+)\s*</maxObjects>`)
	reToken      = regexp.MustCompile(`<token>([^<]*)</token>`)
)

// A result held back for ContinueRetrievePropertiesEx.
type pendingPages struct {
	head, tail string   // the envelope around the objects
	objects    []string // "<objects>...</objects>" each
	limit      int
}

type pager struct {
	next    http.Handler
	mu      sync.Mutex
	pending map[string]*pendingPages
	count   int
}

// page writes the first p.limit objects of p, and a token if more are left.
func (g *pager) page(w http.ResponseWriter, p *pendingPages) {
	n := p.limit
	if n > len(p.objects) {
		n = len(p.objects)
	}
	body := p.head + strings.Join(p.objects[:n], "")
	if rest := p.objects[n:]; len(rest) > 0 {
		g.mu.Lock()
		g.count++
		token := fmt.Sprintf("bed-page-%d", g.count)
		g.pending[token] = &pendingPages{head: p.head, tail: p.tail, objects: rest, limit: p.limit}
		g.mu.Unlock()
		body += "<token>" + token + "</token>"
		log.Printf("vcsim-paging: %d objects, %d left for token %s", n, len(rest), token)
	}
	body += p.tail
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
}

func (g *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, answered := soapBody(w, r)
	if answered {
		return
	}
	if req == nil {
		g.next.ServeHTTP(w, r)
		return
	}
	text := string(req)

	if strings.Contains(text, "<ContinueRetrievePropertiesEx") {
		m := reToken.FindStringSubmatch(text)
		g.mu.Lock()
		var p *pendingPages
		if m != nil {
			p = g.pending[m[1]]
			delete(g.pending, m[1])
		}
		g.mu.Unlock()
		if p == nil {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>unknown or used token</faultstring><detail><InvalidArgumentFault xmlns="urn:vim25" xsi:type="InvalidArgument"><invalidProperty>token</invalidProperty></InvalidArgumentFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
			return
		}
		head := strings.Replace(p.head, "<RetrievePropertiesExResponse", "<ContinueRetrievePropertiesExResponse", 1)
		tail := strings.Replace(p.tail, "</RetrievePropertiesExResponse>", "</ContinueRetrievePropertiesExResponse>", 1)
		g.page(w, &pendingPages{head: head, tail: tail, objects: p.objects, limit: p.limit})
		return
	}
	if !strings.Contains(text, "<RetrievePropertiesEx") {
		g.next.ServeHTTP(w, r)
		return
	}
	limit := *pageSize
	if m := reMaxObjects.FindStringSubmatch(text); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	body := rec.Body.String()
	open := strings.Index(body, "<returnval>")
	close := strings.LastIndex(body, "</returnval>")
	if limit == 0 || rec.Code != http.StatusOK || open < 0 || close < open {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		io.WriteString(w, body)
		return
	}
	inner := body[open+len("<returnval>") : close]
	var objects []string
	for {
		s := strings.Index(inner, "<objects>")
		e := strings.Index(inner, "</objects>")
		if s < 0 || e < s {
			break
		}
		objects = append(objects, inner[s:e+len("</objects>")])
		inner = inner[e+len("</objects>"):]
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	g.page(w, &pendingPages{head: body[:open+len("<returnval>")], tail: body[close:], objects: objects, limit: limit})
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		return &pager{next: next, pending: make(map[string]*pendingPages)}
	})
}
