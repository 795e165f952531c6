// SPDX-License-Identifier: BSD-3-Clause
// vcsim: govmomi's vSphere simulator as a command, for the remote-mode
// tests.  Debian packages govmomi's simulator library but no command, so
// this small main starts it: a vCenter (default) or ESXi (-esx) model on
// a loopback address, TLS with the given certificate, and prints one line
// "URL" to stdout (and to -urlfile) once it serves.  SIGTERM or SIGINT
// stops it and removes its temporary datastores.
//
// Two simulator bugs that would make correct clients fail are worked
// around here (see docs/testing-remote.md):
//   - a snapshot shares the VM's device array, so reconfiguring the VM's
//     disks after CreateSnapshot_Task rewrites the snapshot's disk list;
//   - the ESX model's Datacenter lists a datastore moref captured from a
//     real host that does not exist (ManagedObjectNotFound when read).
package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// deepCopy copies src into dst through the vim25 XML encoding, as the
// simulator does internally (its own deepCopy is not exported).
func deepCopy(src, dst interface{}) error {
	b, err := xml.Marshal(src)
	if err != nil {
		return err
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.TypeFunc = types.TypeFunc()
	return dec.Decode(dst)
}

// snapshotFixer gives every new snapshot a configuration of its own.
// CreateSnapshot_Task copies the VM's config by value, so the snapshot's
// config.hardware.device shares its array (and device objects) with the
// VM's: a later ReconfigVM_Task that edits or removes a disk shifts and
// overwrites the snapshot's disks.  After each SDK request (tasks run
// synchronously, so a snapshot exists when its request returns), the
// config of every snapshot not seen yet is replaced by a deep copy.
type snapshotFixer struct {
	next http.Handler
	mu   sync.Mutex
	done map[types.ManagedObjectReference]bool
}

func (f *snapshotFixer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.next.ServeHTTP(w, r)
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sdk") {
		f.fix()
	}
}

func collectSnapshots(trees []types.VirtualMachineSnapshotTree, out *[]types.ManagedObjectReference) {
	for _, t := range trees {
		*out = append(*out, t.Snapshot)
		collectSnapshots(t.ChildSnapshotList, out)
	}
}

func (f *snapshotFixer) fix() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		var refs []types.ManagedObjectReference
		simulator.Map.WithLock(vm, func() {
			if vm.Snapshot != nil {
				collectSnapshots(vm.Snapshot.RootSnapshotList, &refs)
			}
		})
		for _, ref := range refs {
			if f.done[ref] {
				continue
			}
			s, ok := simulator.Map.Get(ref).(*simulator.VirtualMachineSnapshot)
			if !ok {
				continue
			}
			simulator.Map.WithLock(s, func() {
				var c types.VirtualMachineConfigInfo
				if err := deepCopy(s.Config, &c); err != nil {
					log.Printf("vcsim: copying the config of %s: %v", ref.Value, err)
					return
				}
				s.Config = c
			})
			f.done[ref] = true
		}
	}
}

// dropDanglingDatastores removes datastore morefs that name no object
// from every Datacenter's datastore list.
func dropDanglingDatastores() {
	for _, e := range simulator.Map.All("Datacenter") {
		dc, ok := e.(*simulator.Datacenter)
		if !ok {
			continue
		}
		var gone []types.ManagedObjectReference
		for _, ref := range dc.Datastore {
			if simulator.Map.Get(ref) == nil {
				gone = append(gone, ref)
			}
		}
		for _, ref := range gone {
			simulator.Map.RemoveReference(dc, &dc.Datastore, ref)
		}
	}
}

// Features of the bed that live in their own files (scripts/vcsim/*.go)
// register here from init(), with their own flags:
//   - modelHooks change the model before its inventory is created;
//   - inventoryHooks change the inventory once it exists;
//   - handlerWrappers wrap the HTTP handler, the first one outermost;
//   - innerWrappers wrap the simulator's own handler, inside every
//     handlerWrapper: for SOAP calls the bed answers in the simulator's
//     place, which the handlerWrappers (injected faults, -record-headers,
//     sessions) must see as they see every other call, whatever the
//     order of the files' init();
//   - tlsHooks change the server's TLS configuration before it serves;
//   - serverHooks change the HTTP server (e.g. its ConnState) before the
//     URL is published.
var (
	modelHooks      []func(*simulator.Model)
	inventoryHooks  []func(*simulator.Model)
	handlerWrappers []func(http.Handler) http.Handler
	innerWrappers   []func(http.Handler) http.Handler
	tlsHooks        []func(*tls.Config)
	serverHooks     []func(*http.Server)
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	esx := flag.Bool("esx", false, "simulate a stand-alone ESXi host, not vCenter")
	cert := flag.String("cert", "", "TLS certificate (PEM); default: govmomi's test certificate")
	key := flag.String("key", "", "TLS private key (PEM)")
	user := flag.String("username", "", "the only user name accepted (default: any)")
	pass := flag.String("password", "", "the only password accepted (default: any)")
	urlfile := flag.String("urlfile", "", "also write the URL to this file")
	flag.Parse()

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	}
	for _, hook := range modelHooks {
		hook(model)
	}
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: creating the inventory: %v", err)
	}
	model.Service.Listen = &url.URL{Host: *listen}
	if *user != "" {
		model.Service.Listen.User = url.UserPassword(*user, *pass)
	}
	model.Service.TLS = new(tls.Config)
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatalf("vcsim: loading the certificate: %v", err)
		}
		model.Service.TLS.Certificates = []tls.Certificate{pair}
	}
	for _, hook := range tlsHooks {
		hook(model.Service.TLS)
	}
	model.Service.RegisterEndpoints = true
	dropDanglingDatastores()
	for _, hook := range inventoryHooks {
		hook(model)
	}

	server := model.Service.NewServer()
	// NewServer has started serving, but nobody knows the URL yet, so no
	// request can be in flight while the handler is swapped.
	inner := server.Config.Handler
	for i := len(innerWrappers) - 1; i >= 0; i-- {
		inner = innerWrappers[i](inner)
	}
	var handler http.Handler = &snapshotFixer{
		next: inner,
		done: make(map[types.ManagedObjectReference]bool),
	}
	for i := len(handlerWrappers) - 1; i >= 0; i-- {
		handler = handlerWrappers[i](handler)
	}
	server.Config.Handler = handler
	for _, hook := range serverHooks {
		hook(server.Config)
	}
	u := *server.URL
	u.User = nil
	fmt.Println(u.String())
	if *urlfile != "" {
		if err := os.WriteFile(*urlfile+".tmp", []byte(u.String()+"\n"), 0644); err != nil {
			log.Fatalf("vcsim: %v", err)
		}
		if err := os.Rename(*urlfile+".tmp", *urlfile); err != nil {
			log.Fatalf("vcsim: %v", err)
		}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	server.Close()
	model.Remove()
}
