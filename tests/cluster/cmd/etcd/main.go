// Command etcd runs the upstream etcd server (go.etcd.io/etcd/server/v3/etcdmain) at the
// version k8s.io/kubernetes pins. Debian bookworm's etcd 3.4.23 lacks the RequestWatchProgress
// support that kube-apiserver 1.36 needs to serve watch-list requests (kwok's informers use them).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
