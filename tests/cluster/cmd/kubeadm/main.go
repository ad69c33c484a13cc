// Command kubeadm runs the upstream kubeadm (k8s.io/kubernetes/cmd/kubeadm/app): kind runs it inside the node
// to set up the control plane (offline kind node image of the `workshop` tier, tests/kind/).
package main

import (
	"k8s.io/kubernetes/cmd/kubeadm/app"
	utilerrors "k8s.io/kubernetes/cmd/kubeadm/app/util/errors"
)

func main() {
	utilerrors.HandleError(app.Run())
}
