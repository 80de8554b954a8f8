package capacity

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/vmbench/vmbench/internal/units"
)

// Header and Row are a platform's capacity as a table row, the same in
// vmbench capacity and in the reports: instances per host, what binds,
// and what each instance costs.
var Header = []string{"platform", "per host", "binding", "memory/instance", "PSS/instance", "QEMU beyond guest", "CPU/instance"}

// Row is c under Header.
func (c Result) Row() []string {
	per := fmt.Sprintf("%d [%d, %d]", c.PerHost, c.PerHostLo, c.PerHostHi)
	if c.Extrapolated {
		per += " (extrapolated)"
	}
	vmm := "—"
	if !math.IsNaN(c.VMMPerInstance) {
		vmm = units.Format(c.VMMPerInstance, "B")
	}
	return []string{c.Platform.Name, per, string(c.Binding), FitText(c.MemPerInstance, "B"), FitText(c.PSSPerInstance, "B"), vmm, FitText(c.CPUPerInstance, "cores")}
}

// FitText is a per-instance cost with its interval: "12.1 MB [10.2 MB,
// 14.0 MB]", "—" where not measured.
func FitText(f Fit, unit string) string {
	switch {
	case math.IsNaN(f.PerInstance):
		return "—"
	case f.PerInstance < 0: // a cost below zero is other load's: see the warnings
		return "not measured (below zero)"
	}
	s := units.Format(f.PerInstance, unit)
	if !math.IsNaN(f.Lo) {
		s += fmt.Sprintf(" [%s, %s]", units.Format(f.Lo, unit), units.Format(f.Hi, unit))
	}
	return s
}

// SLOText is the SLO's verdict at each level, and where a guard stopped
// the sweep: "SLO on vm: 1: ok; 2: ok; 4: FAIL (…)".
func (c Result) SLOText() string {
	var levels []string
	for _, v := range c.SLO {
		mark := "ok"
		if !v.Pass {
			mark = "FAIL (" + v.Reason + ")"
		}
		levels = append(levels, fmt.Sprintf("%d: %s", v.N, mark))
	}
	s := fmt.Sprintf("SLO on %s: %s", c.Platform.Name, strings.Join(levels, "; "))
	if c.Stop != "" {
		s += "; stopped: " + c.Stop
	}
	return s
}

// Legend says what a capacity row's figures are.
const Legend = "Per host: the most instances that keep the SLO at every level up to them, fit in memory and CPU, and passed the guards; [95% bootstrap interval over rounds]. " +
	"Memory per instance: the slope of MemAvailable's drop over the levels; PSS: of the instances' processes; CPU: of the instances' own CPU. " +
	"An instance is the workload in vmbench's agent: a native one the agent process; a container one the container (the runtime's foreground runc run and the agent in it, whose binary all containers share read-only, as an image's layers are); a guest one the QEMU process and its guest."

// Text prints the answer as vmbench capacity does.
func (a Answer) Text(w io.Writer) {
	if a.Fleet != nil {
		a.fleetText(w)
		return
	}
	fmt.Fprintf(w, "vmbench capacity of run %s — levels %v, %d round(s) each, on %d CPUs and %s for instances\n",
		a.RunID, a.Levels, a.Rounds, a.Host.Cores, units.Format(a.Host.Memory, "B"))
	for _, b := range a.Banners {
		fmt.Fprintf(w, "!! %s\n", b)
	}
	if a.Reprojected {
		fmt.Fprintf(w, "!! re-projected onto %d CPUs and %s: the memory and CPU limits come from the per-instance models; the SLO levels are this host's (%d CPUs)\n",
			a.Host.Cores, units.Format(a.Host.Memory, "B"), a.RunCores)
	}
	tw := newTable(w, append(slices.Clone(Header), fmt.Sprintf("hosts for %d", a.Instances)))
	emulated := false
	for _, c := range a.Results {
		hosts, refused := a.hostsText(c)
		emulated = emulated || refused
		tw.Append(append(c.Row(), hosts))
	}
	tw.Render()
	for _, c := range a.Results {
		for _, msg := range c.Warnings {
			fmt.Fprintf(w, "!! %s\n", msg)
		}
	}
	fmt.Fprintf(w, "%s Hosts: ⌈%d / ⌊k·(1−%s)⌋⌉ + %d spare(s).\n", Legend, a.Instances, a.headroomText(), a.Spares)
	if emulated {
		fmt.Fprintln(w, emulatedText)
	}
	for _, c := range a.Results {
		fmt.Fprintln(w, c.SLOText())
	}
	for _, r := range a.Ratios() {
		fmt.Fprintf(w, "Density %s / %s: %d / %d = %.2f (host count ratio %.2f)\n", r.Of.Platform.Name, r.Versus.Platform.Name, r.Of.PerHost, r.Versus.PerHost, r.Density, r.Hosts)
	}
	if o, ok := a.Overhead(); ok {
		fmt.Fprintln(w, o.Text())
	}
}

const emulatedText = "Hosts-needed refused for platforms that ran under TCG: emulation sizes nothing. --allow-emulated prints them anyway."

func newTable(w io.Writer, header []string) *tablewriter.Table {
	tw := tablewriter.NewWriter(w)
	tw.SetHeader(header)
	tw.SetAutoFormatHeaders(false)
	tw.SetAutoWrapText(false)
	tw.SetAlignment(tablewriter.ALIGN_LEFT)
	return tw
}

// hostsText is the hosts cell of a platform's row; refused is set for a
// TCG platform.
func (a Answer) hostsText(c Result) (text string, refused bool) {
	switch f, why := a.hosts(c); {
	case why == refusedTCG:
		return "refused: TCG", true
	case why != "":
		return why, false
	default:
		return fmt.Sprintf("%d [%d, %s]", f.Hosts, f.Lo, hostsEnd(f.Hi)), false
	}
}

// hostsEnd is the top of a hosts interval: ∞ where, at the bottom of the
// per-host interval, no instance fits after the headroom.
func hostsEnd(n int) string {
	if n < 0 {
		return "∞"
	}
	return strconv.Itoa(n)
}

func (a Answer) fleetText(w io.Writer) {
	f := a.Fleet
	for _, u := range f.Unsized {
		fmt.Fprintf(w, "host %s: not sized: %s\n", u.Host, u.Reason)
	}
	fmt.Fprintf(w, "vmbench capacity of fleet run %s — %d host type(s); a type's instances per host are the fewest of its hosts'\n", a.RunID, len(f.Types))
	tw := newTable(w, []string{"platform", "host type", "hosts", "per host", "each host", fmt.Sprintf("hosts for %d of this type", a.Instances)})
	emulated := false
	var mixes []string
	for _, p := range f.Platforms {
		var mix []string
		for _, t := range f.Types {
			c, ok := t.Best[p]
			if !ok {
				continue
			}
			hosts, tcg := a.hostsText(c)
			emulated = emulated || tcg
			var each []string
			for _, h := range t.Each[p] {
				each = append(each, fmt.Sprintf("%s %d", h.Host, h.PerHost))
			}
			tw.Append([]string{p, t.Name, strings.Join(t.Hosts, ", "), fmt.Sprintf("%d [%d, %d]", c.PerHost, c.PerHostLo, c.PerHostHi), strings.Join(each, ", "), hosts})
			mix = append(mix, fmt.Sprintf("%d × %s", len(t.Hosts), t.Name))
		}
		m, ok := f.mix(p, a.Question)
		switch {
		case !ok || m.tcg: // the rows say it
		case m.Refused != "":
			mixes = append(mixes, fmt.Sprintf("%s in the fleet's mix: %s", p, m.Refused))
		default:
			var need []string
			for _, t := range f.Types {
				if n, ok := m.ByType[t.Name]; ok {
					need = append(need, fmt.Sprintf("%d × %s", n, t.Name))
				}
			}
			mixes = append(mixes, fmt.Sprintf("%s, %d instances in the fleet's mix of types (%s): %d host(s) (%s) + %d spare(s)",
				p, a.Instances, strings.Join(mix, " + "), m.Hosts, strings.Join(need, " + "), a.Spares))
		}
	}
	tw.Render()
	for _, m := range mixes {
		fmt.Fprintln(w, m)
	}
	h := a.headroomText()
	fmt.Fprintf(w, "Per host: the most instances that keep the SLO at every level up to them, fit in memory and CPU, and passed the guards, on the type's weakest host; [95%% bootstrap interval over rounds]. Hosts of one type: ⌈%d / ⌊k·(1−%s)⌋⌉ + %d spare(s); in the mix: whole copies of the fleet's hosts, each holding Σ hosts·⌊k·(1−%s)⌋.\n",
		a.Instances, h, a.Spares, h)
	if emulated {
		fmt.Fprintln(w, emulatedText)
	}
}

// Schema names the layout of Doc: vmbench capacity --json.
const Schema = "vmbench.capacity/v1"

// PlatformDoc is a platform's capacity and the hosts the question's
// instances need.
type PlatformDoc struct {
	ResultDoc
	// Hosts is what the instances need; nil with HostsRefused (TCG) or
	// when none fit after the headroom.
	Hosts        *Estimate `json:"hosts"`
	HostsRefused string    `json:"hosts_refused,omitempty"`
}

func (a Answer) platformDoc(c Result) PlatformDoc {
	p := PlatformDoc{ResultDoc: c.Doc()}
	if f, why := a.hosts(c); why != "" {
		p.HostsRefused = why
	} else {
		hi := float64(f.Hi)
		if f.Hi < 0 {
			hi = math.Inf(1) // null: no instance fits at the per-host interval's bottom
		}
		p.Hosts = &Estimate{Value: units.Finite(float64(f.Hosts)), Lo: units.Finite(float64(f.Lo)), Hi: units.Finite(hi)}
	}
	return p
}

// head is what every document begins with: the run, the sweep and the
// question asked.
type head struct {
	Schema    string   `json:"schema"`
	RunID     string   `json:"run_id"`
	Levels    []int    `json:"levels"`
	Rounds    int      `json:"rounds"`
	Instances int      `json:"instances"`
	Headroom  float64  `json:"headroom"`
	Spares    int      `json:"spares"`
	Banners   []string `json:"banners"`
}

// Doc is the answer as one JSON document (Schema), for a spreadsheet or a
// planner; a figure not measured is null.
func (a Answer) Doc() any {
	h := head{Schema: Schema, RunID: a.RunID, Levels: a.Levels, Rounds: a.Rounds,
		Instances: a.Instances, Headroom: a.headroom(), Spares: a.Spares, Banners: append([]string{}, a.Banners...)}
	if a.Fleet != nil {
		return a.fleetDoc(h)
	}
	doc := struct {
		head
		HostCores   int           `json:"host_cores"`
		HostMemory  float64       `json:"host_memory_bytes"` // for instances
		Reprojected bool          `json:"reprojected"`
		Platforms   []PlatformDoc `json:"platforms"`
	}{head: h, HostCores: a.Host.Cores, HostMemory: a.Host.Memory, Reprojected: a.Reprojected, Platforms: []PlatformDoc{}}
	for _, c := range a.Results {
		doc.Platforms = append(doc.Platforms, a.platformDoc(c))
	}
	return doc
}

// fleetDoc is a fleet's capacity: per host type, each platform's capacity
// on its weakest host with each host's count, and the fleet's mix.
func (a Answer) fleetDoc(h head) any {
	f := a.Fleet
	type typePlatform struct {
		PlatformDoc
		EachHost []HostCount `json:"each_host"`
	}
	type hostTypeDoc struct {
		Name      string         `json:"name"`
		Hosts     []string       `json:"hosts"`
		Platforms []typePlatform `json:"platforms"`
	}
	doc := struct {
		head
		Fleet     bool          `json:"fleet"`
		Unsized   []Unsized     `json:"unsized"`
		HostTypes []hostTypeDoc `json:"host_types"`
		Mix       []Mix         `json:"mix"`
	}{head: h, Fleet: true, Unsized: append([]Unsized{}, f.Unsized...), HostTypes: []hostTypeDoc{}, Mix: []Mix{}}
	for _, t := range f.Types {
		ht := hostTypeDoc{Name: t.Name, Hosts: t.Hosts, Platforms: []typePlatform{}}
		for _, p := range f.Platforms {
			if c, ok := t.Best[p]; ok {
				ht.Platforms = append(ht.Platforms, typePlatform{a.platformDoc(c), t.Each[p]})
			}
		}
		doc.HostTypes = append(doc.HostTypes, ht)
	}
	for _, p := range f.Platforms {
		if m, ok := f.mix(p, a.Question); ok {
			doc.Mix = append(doc.Mix, m)
		}
	}
	return doc
}
