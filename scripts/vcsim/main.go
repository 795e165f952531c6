// vcsim: govmomi's vSphere simulator as a command, for the remote-mode
// tests.  Debian packages govmomi's simulator library but no command, so
// this small main starts it: a vCenter (default) or ESXi (-esx) model on
// a loopback address, TLS with the given certificate, and prints one line
// "URL" to stdout (and to -urlfile) once it serves.  SIGTERM or SIGINT
// stops it and removes its temporary datastores.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
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
	model.Service.RegisterEndpoints = true

	server := model.Service.NewServer()
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
