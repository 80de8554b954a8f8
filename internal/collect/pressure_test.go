package collect

import (
	"math"
	"testing"
)

const densityRoot = "testdata/density"

func TestReadPressure(t *testing.T) {
	p, err := ReadPressure(densityRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := Pressure{CPUSome: 139.628367, MemorySome: 2.5, MemoryFull: 1.2, IOSome: 0.7, IOFull: 0.3}
	if p != want {
		t.Errorf("pressure %+v, want %+v", p, want)
	}
	if d := p.Sub(Pressure{MemoryFull: 0.2}); math.Abs(d.MemoryFull-1) > 1e-9 {
		t.Errorf("sub: %+v", d)
	}
	if _, err := ReadPressure("testdata/host"); err == nil {
		t.Error("no pressure files, no error")
	}
}

func TestHostMemoryReadings(t *testing.T) {
	if v, err := MemAvailable(densityRoot); err != nil || v != 20000000*1024 {
		t.Errorf("MemAvailable %g %v", v, err)
	}
	if n, err := OOMKills(densityRoot); err != nil || n != 3 {
		t.Errorf("oom kills %d %v", n, err)
	}
	if v := KSMSharing(densityRoot); v != 25*4096 {
		t.Errorf("KSM %g", v)
	}
	if v := KSMSharing("testdata/nowhere"); v != 0 {
		t.Errorf("no KSM: %g", v)
	}
}

// The fixture is the smaps of a real QEMU 7.2 running a 2 GiB TCG guest
// (vmbench's default vm platform, mid-run).
func TestVMMOverhead(t *testing.T) {
	over, guest, err := VMMOverhead(densityRoot, 4242, 2<<30)
	if err != nil {
		t.Fatal(err)
	}
	if over != 272157*1024 || guest != 569344*1024 {
		t.Errorf("overhead %g, guest %g bytes", over, guest)
	}
	if _, _, err := VMMOverhead(densityRoot, 4242, 4<<30); err == nil {
		t.Error("no 4 GiB mapping, no error")
	}
	// Under TCG the translated code (rwx anonymous chunks of 64 MiB) is
	// overhead, not guest RAM: 157 MiB of the 266 MiB here.
	if over < 150<<20 {
		t.Errorf("overhead %g: the TCG code buffers were not counted", over)
	}
}
