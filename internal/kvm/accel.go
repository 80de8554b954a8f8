package kvm

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ProbeTimeout is how long a KVM guest may take to reach its agent before
// accel: auto decides that KVM is unusable. A KVM guest of vmbench's is
// ready in about a second; some hosts (nested hosts using PVM, for one)
// expose a /dev/kvm on which ordinary guest kernels hang forever.
var ProbeTimeout = 10 * time.Second

// KVMDevice is the KVM device; tests point it elsewhere.
var KVMDevice = "/dev/kvm"

// kvmUsable is KVMUsable, replaceable in tests.
var kvmUsable = KVMUsable

// KVMUsable opens /dev/kvm and asks its API version: the cheap half of the
// probe. The other half is booting a guest.
func KVMUsable() error {
	f, err := os.OpenFile(KVMDevice, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	const kvmGetAPIVersion = 0xAE00
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	if err != nil {
		return fmt.Errorf("%s: KVM_GET_API_VERSION: %w", KVMDevice, err)
	}
	if v != 12 {
		return fmt.Errorf("%s: API version %d, want 12", KVMDevice, v)
	}
	return nil
}

// Decision is the outcome of accel: auto, shared by every vm platform of a
// run so that the probe boots at most once.
type Decision struct {
	mu     sync.Mutex
	done   bool
	accel  string
	reason string
}

// Outcome returns the decision once made: the accelerator, and why.
func (d *Decision) Outcome() (accel, reason string, ok bool) { return d.get() }

// Record makes the decision, for a platform that probed KVM itself.
func (d *Decision) Record(accel, reason string) { d.set(accel, reason) }

// get returns the decision once made.
func (d *Decision) get() (accel, reason string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.accel, d.reason, d.done
}

// setIfUnset makes the decision unless one is made.
func (d *Decision) setIfUnset(accel, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.done {
		d.accel, d.reason, d.done = accel, reason, true
	}
}

func (d *Decision) set(accel, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accel, d.reason, d.done = accel, reason, true
}
