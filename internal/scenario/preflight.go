package scenario

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Memory a workload's arrays need, by workload type: how many arrays of
// its size parameter it allocates.
var arraysOf = map[string]int64{"memory": 3, "memlat": 1}

// What a platform keeps for itself of the memory it is given: a guest's
// kernel, init, agent and runc (a 256 MiB TCG guest reports about 200 MiB
// MemTotal and runs the agent in under 40 MiB), a container's runtime
// share of its cgroup.
const (
	guestReserve     = 192 << 20
	containerReserve = 16 << 20
)

// fits refuses, before anything starts, a variant whose arrays cannot fit
// in the memory a platform gives it: today it would boot the guest and fail
// every trial with the tail of a Go stack dump.
func (v *validator) fits() {
	for i, w := range v.s.Workloads {
		arrays, ok := arraysOf[w.Type]
		impl, known := workloads.Lookup(w.Type)
		if !ok || !known {
			continue
		}
		for _, variant := range Variants(w) {
			params, errs := workload.Complete(impl, variant.Given)
			if len(errs) > 0 {
				continue
			}
			need := arrays * params.Size("size")
			path := fmt.Sprintf("workloads[%d].params.size", i)
			if vi := slices.IndexFunc(w.Params, func(p Param) bool { return p.Key == "size" }); vi >= 0 {
				path += fmt.Sprintf("[%d]", max(slices.Index(w.Params[vi].Values, variant.Given["size"]), 0))
			}
			for _, p := range v.s.Platforms {
				var have int64
				switch {
				case p.Type == VM:
					have = p.Memory() - guestReserve
				case p.Type == Container && p.Memory() > 0:
					have = p.Memory() - containerReserve
				default:
					continue
				}
				if need > have {
					v.fail(path, "%s with size %s needs %s (%d array(s)), but platform %s (%s) has memory %s, about %s of it usable: give it more memory, or a smaller size",
						w.Name, params["size"], units.FormatSize(need), arrays, p.Name, p.path, units.FormatSize(p.Memory()), units.FormatSize(max(have, 0)))
				}
			}
		}
	}
}

// MaxVariants bounds the variants one workload's parameter lists make.
const MaxVariants = 10000

// MaxPlatforms bounds the platforms one matrix entry makes: every one is
// started and measured in every round.
const MaxPlatforms = 256

// hostResources refuses what this host cannot give: guests' memory and the
// unlimited platforms' arrays beyond MemAvailable, and the disk workload's
// files and the guests' scratch disks beyond the free space of scratch_dir.
func (v *validator) hostResources() {
	s := v.s
	if avail := memAvailable("/proc/meminfo"); avail > 0 {
		var guests int64
		for _, p := range s.Platforms {
			if p.Type == VM && s.Density == nil {
				guests += p.Memory()
			}
		}
		if guests > avail {
			v.fail("platforms", "the guests need %s of memory together, and this host has %s available: give them less memory, or run fewer guests", units.FormatSize(guests), units.FormatSize(avail))
		}
		for i, w := range s.Workloads {
			impl, ok := workloads.Lookup(w.Type)
			arrays := arraysOf[w.Type]
			if !ok || arrays == 0 {
				continue
			}
			for _, variant := range Variants(w) {
				params, errs := workload.Complete(impl, variant.Given)
				if len(errs) > 0 {
					continue
				}
				if need := arrays * params.Size("size"); need > avail-guests {
					v.fail(fmt.Sprintf("workloads[%d].params.size", i), "%s with size %s needs %s, and this host has %s available beside its guests: give a smaller size", w.Name, params["size"], units.FormatSize(need), units.FormatSize(max(avail-guests, 0)))
					break
				}
			}
		}
	}
	var disk int64
	for _, w := range s.Workloads {
		impl, ok := workloads.Lookup(w.Type)
		if !ok || w.Type != "disk" {
			continue
		}
		var largest int64
		for _, variant := range Variants(w) {
			if params, errs := workload.Complete(impl, variant.Given); len(errs) == 0 {
				largest = max(largest, params.Size("size"))
			}
		}
		for _, p := range s.Platforms {
			if p.Type != VM {
				disk += largest // a file per host platform
			}
		}
	}
	for _, p := range s.Platforms {
		if p.Type == VM {
			disk += p.VM.ScratchSize // sparse, but a guest may fill it
		}
	}
	if free := freeSpace(s.ScratchDir); free > 0 && disk > free {
		v.fail("scratch_dir", "the disk workload's files and the guests' scratch disks may take %s, and %s has %s free: free some space, give smaller sizes, or name another scratch_dir", units.FormatSize(disk), s.ScratchDir, units.FormatSize(free))
	}
}

// memAvailable is MemAvailable in bytes, 0 when unknown.
func memAvailable(meminfo string) int64 {
	data, err := os.ReadFile(meminfo)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// freeSpace is what dir's filesystem has free for an ordinary user, 0 when
// unknown.
func freeSpace(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * st.Bsize
}

// DefaultMaxDuration is how long a run may be planned to take before
// vmbench asks for max_duration or --yes.
const DefaultMaxDuration = 2 * time.Hour

// Per-trial costs beyond the workload's own duration, by platform type,
// and the guests' boots, measured on a 2-core TCG host (the default
// scenario's runs in docs/measurements.md): a host process starts and
// sets up in about 0.1 s, runc in 0.2–0.3 s, runc in an emulated (TCG)
// guest in 2–3 s, in a KVM guest in about 0.3 s; a TCG guest boots in
// 4–8 s, a KVM guest in about 1 s; accel: auto first probes KVM for up to
// 10 s where /dev/kvm opens.
var (
	trialOverhead = map[string]time.Duration{Native: 100 * time.Millisecond, Container: 250 * time.Millisecond}
	vmOverhead    = map[string]time.Duration{"kvm": 300 * time.Millisecond, "tcg": 2500 * time.Millisecond}
	bootTime      = map[string]time.Duration{"kvm": time.Second, "tcg": 6 * time.Second}
	probeTime     = 10 * time.Second
)

// Host is what the estimate knows of the host before anything starts:
// whether /dev/kvm opens (accel: auto then probes it, and may use it).
type Host struct{ KVM bool }

// accelOf is the accelerator a vm platform is expected to run under:
// accel: auto is KVM where /dev/kvm opens (at best: a guest may yet hang
// on it and fall back to TCG after the probe).
func accelOf(p Platform, h Host) string {
	if p.VM.Accel == "tcg" || p.VM.Accel == "auto" && !h.KVM {
		return "tcg"
	}
	return "kvm"
}

// Estimate is how long the scenario's plan should take on the host: every
// trial's duration parameter (1 s when it has none) plus its platform's
// overhead, the guests' boots, and for a density sweep every instance's
// start. EstimateMost is the most.
func Estimate(s *Scenario, h Host) time.Duration {
	return estimate(s, h, false)
}

func estimate(s *Scenario, h Host, worst bool) time.Duration {
	var total time.Duration
	accel := func(p Platform) string { // at worst, auto falls back to TCG
		if worst && p.VM.Accel == "auto" {
			return "tcg"
		}
		return accelOf(p, h)
	}
	overhead := func(p Platform) time.Duration {
		if p.Type != VM {
			return trialOverhead[p.Type]
		}
		return vmOverhead[accel(p)]
	}
	boot := func(p Platform) time.Duration { return bootTime[accel(p)] }
	for _, p := range s.Platforms {
		if p.Type == VM {
			total += boot(p)
			if p.VM.Accel == "auto" && h.KVM && worst {
				total += probeTime
			}
		}
	}
	// A variant's trial: its duration parameter, 1 s when it has none.
	type variant struct {
		d time.Duration
		w Workload
	}
	var variants []variant
	for _, w := range s.Workloads {
		impl, ok := workloads.Lookup(w.Type)
		if !ok {
			continue
		}
		for _, vr := range Variants(w) {
			params, _ := workload.Complete(impl, vr.Given)
			d := time.Second
			if _, ok := params["duration"]; ok {
				d = params.Duration("duration")
			}
			variants = append(variants, variant{d, w})
		}
	}
	for _, p := range s.Platforms {
		var round time.Duration // every variant once on p
		for _, vr := range variants {
			if vr.w.RunsOn(p, s.Baseline) {
				round += vr.d + overhead(p)
			}
		}
		if s.Density == nil {
			total += round * time.Duration(s.Warmup+s.Repetitions)
			continue
		}
		for _, l := range s.Density.Levels {
			// The level's instances run at once: its work takes about one
			// instance's time; each guest it starts adds a boot.
			per := round
			if p.Type == VM {
				per += time.Duration((l+p.VM.PerGuest-1)/p.VM.PerGuest) * boot(p)
			}
			total += per * time.Duration(s.Density.Repetitions)
		}
	}
	return total
}

// EstimateMost is the longest the scenario should take on the host: a
// guest of accel: auto in TCG after a probe that timed out; for an
// adaptive run, rounds added to every cell up to max_repetitions, each
// look's guests booted again, all within time_budget (which is checked
// between rounds, so one round more may start before it).
func EstimateMost(s *Scenario, h Host) time.Duration {
	most := estimate(s, h, true)
	looks := s.Looks()
	if s.Density != nil || !s.Adaptive(s.Repetitions) || len(looks) < 2 {
		return most
	}
	at := func(reps int) time.Duration {
		t := *s
		t.Warmup, t.Repetitions = 0, reps
		return estimate(&t, h, true)
	}
	boots := at(0)
	round := at(1) - boots
	added := round * time.Duration(s.MaxRepetitions-s.Repetitions)
	if s.TimeBudget > 0 {
		added = min(added, s.TimeBudget+round)
	}
	return most + added + boots*time.Duration(len(looks)-1)
}

// Trials is how many trials the plan has (Plan's length, counted without
// building it).
func Trials(s *Scenario) int {
	n := 0
	for _, w := range s.Workloads {
		for _, p := range s.Platforms {
			if w.RunsOn(p, s.Baseline) {
				n += len(Variants(w))
			}
		}
	}
	return n * (s.Warmup + s.Repetitions)
}

// CheckPlan refuses a plan estimated to take longer than max_duration,
// unless accept (vmbench run --yes): a parameter matrix can multiply into
// weeks of trials without anyone meaning it.
func CheckPlan(s *Scenario, accept bool) Errors {
	est := Estimate(s, Host{KVM: true}) // the least it can take anywhere
	if accept || est <= s.MaxDuration {
		return nil
	}
	v := &validator{s: s}
	path := "max_duration"
	if _, set := s.pos[path]; !set {
		path = "workloads"
	}
	var how []string
	if s.Density == nil {
		how = append(how, fmt.Sprintf("fewer repetitions (%d)", s.Repetitions), "fewer parameter values (each list multiplies the variants)")
	} else {
		how = append(how, "fewer or lower levels", fmt.Sprintf("fewer rounds per level (%d)", s.Density.Repetitions))
	}
	how = append(how, "fewer platforms", "shorter durations")
	v.fail(path, "the plan would take about %s (%s), above max_duration %s: shrink it (%s), raise max_duration, or pass --yes to run it anyway",
		est.Round(time.Minute), planSize(s), s.MaxDuration, strings.Join(how, ", "))
	return v.errs
}

// planSize says how big a plan is: its trials, or a sweep's instances.
func planSize(s *Scenario) string {
	if s.Density != nil {
		return DescribeDensity(s)
	}
	return plural(Trials(s), "trial")
}
