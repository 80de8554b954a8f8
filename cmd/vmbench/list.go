package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/runner"
	"github.com/vmbench/vmbench/internal/scenario"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// ListSchema names the layout of vmbench list --json.
const ListSchema = "vmbench.list/v1"

func newListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the workloads and platform types with their parameters and options",
		Long: `List every workload with its parameters (values, default, what it does) and
metrics, the metrics every trial and every density level adds, and every
platform type with its options (kind, default, what it does). --json prints
the same as one JSON document (schema vmbench.list/v1).`,
		Example: `  vmbench list
  vmbench list --json | jq '.platforms[] | select(.type == "vm") | .options[].key'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l := newListing()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			l.text(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (schema vmbench.list/v1) instead of text")
	return cmd
}

// listing is what vmbench list shows, for text and JSON alike.
type listing struct {
	Schema         string         `json:"schema"`
	Workloads      []listWorkload `json:"workloads"`
	CostMetrics    []listMetric   `json:"cost_metrics"`
	DensityMetrics []listMetric   `json:"density_metrics"`
	Platforms      []listPlatform `json:"platforms"`
}

type listWorkload struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Params      []listParam  `json:"params"`
	Metrics     []listMetric `json:"metrics"`
}

type listParam struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Values  []string `json:"values,omitempty"`
	Default string   `json:"default"`
	// HostDefault: the default is computed on the host (this host's value
	// is Default).
	HostDefault bool   `json:"host_default,omitempty"`
	Help        string `json:"help"`
}

type listMetric struct {
	Name string `json:"name"`
	Unit string `json:"unit"`
	Help string `json:"help"`
}

type listPlatform struct {
	Type        string           `json:"type"`
	Description string           `json:"description"`
	Options     []options.Option `json:"options"`
}

func metrics(ms []workload.MetricInfo) []listMetric {
	out := []listMetric{}
	for _, m := range ms {
		out = append(out, listMetric{m.Name, m.Unit, m.Help})
	}
	return out
}

func newListing() listing {
	l := listing{Schema: ListSchema, CostMetrics: metrics(workload.CostMetrics), DensityMetrics: metrics(runner.DensityMetrics)}
	for _, wl := range workloads.All() {
		w := listWorkload{Name: wl.Name(), Description: wl.Describe(), Params: []listParam{}, Metrics: metrics(wl.Metrics())}
		for _, p := range wl.Params() {
			lp := listParam{Name: p.Name, Kind: string(p.Kind), Values: p.Choices, Default: p.Default, Help: p.Help}
			if p.DefaultFunc != nil {
				lp.Default, lp.HostDefault = p.DefaultFunc(), true
			}
			w.Params = append(w.Params, lp)
		}
		l.Workloads = append(l.Workloads, w)
	}
	help := map[string]string{
		scenario.Native:    "the agent as a plain host process (the usual baseline)",
		scenario.Container: "the agent in an OCI runtime on the host, from a bundle vmbench writes, or through Docker or Podman",
		scenario.VM:        "a KVM guest: vmbench's own (QEMU) or a libvirt domain from your image; the agent in runc inside it, or as a guest process",
		scenario.Remote:    "a machine vmbench does not manage, reached over SSH: a VM on another hypervisor, or bare metal",
	}
	defaults := map[string]any{
		scenario.Container: options.DefaultContainerOptions(),
		scenario.VM:        options.DefaultVMOptions(),
		scenario.Remote:    options.DefaultRemoteOptions(),
	}
	for _, t := range scenario.PlatformTypes {
		p := listPlatform{Type: t, Description: help[t], Options: []options.Option{}}
		if d, ok := defaults[t]; ok {
			p.Options = options.Describe(d)
		}
		l.Platforms = append(l.Platforms, p)
	}
	return l
}

// text writes the listing in aligned columns, which widen to the longest
// name rather than run into the next column.
func (l listing) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	metricRows := func(ms []listMetric) {
		for _, m := range ms {
			fmt.Fprintf(tw, "    metric\t%s\t%s\t\t%s\n", m.Name, m.Unit, m.Help)
		}
	}
	fmt.Fprintln(tw, "WORKLOADS")
	for _, wl := range l.Workloads {
		fmt.Fprintf(tw, "\n  %s — %s\n", wl.Name, wl.Description)
		for _, p := range wl.Params {
			kind := p.Kind
			if len(p.Values) > 0 {
				kind = strings.Join(p.Values, "|")
			}
			def := "default " + p.Default
			if p.HostDefault {
				def += " (this host)"
			}
			fmt.Fprintf(tw, "    param\t%s\t%s\t%s\t%s\n", p.Name, kind, def, p.Help)
		}
		metricRows(wl.Metrics)
	}
	fmt.Fprintln(tw, "\n  every workload — what each successful trial cost the host, measured by the platform")
	metricRows(l.CostMetrics)
	fmt.Fprintln(tw, "\n  density sweeps — what each level cost the host, on the level's own sample (instance 0)")
	metricRows(l.DensityMetrics)
	fmt.Fprintln(tw, "\nPLATFORM TYPES")
	for _, p := range l.Platforms {
		fmt.Fprintf(tw, "\n  %s — %s\n", p.Type, p.Description)
		if len(p.Options) == 0 {
			fmt.Fprintln(tw, "    (no options)")
		}
		for _, o := range p.Options {
			def := "default " + o.Default
			if o.Default == "" {
				def = "default —"
			}
			fmt.Fprintf(tw, "    option\t%s\t%s\t%s\t%s\n", o.Key, o.Kind, def, o.Help)
		}
	}
	tw.Flush()
}

// writeJSON writes v as indented JSON, the form every --json takes.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// markdown writes the listing as docs/reference.md: a table per workload
// and per platform type, generated so that the reference cannot drift from
// the code (TestReferenceIsGenerated). A default computed on the host is
// named as such, not given: the file is the same on every host.
func (l listing) markdown(w io.Writer) {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	fmt.Fprint(w, "# Workloads, platforms and metrics\n\n"+
		"<!-- Generated from the code by `go test ./cmd/vmbench -run TestReferenceIsGenerated -args -update`; do not edit. -->\n\n"+
		"What `vmbench list` prints, as tables: every workload's parameters and metrics, and every platform type's options. "+
		"[scenario.md](scenario.md) shows them in a scenario.\n")
	metricTable := func(ms []listMetric) {
		fmt.Fprint(w, "\n| metric | unit | what it is |\n| --- | --- | --- |\n")
		for _, m := range ms {
			fmt.Fprintf(w, "| `%s` | %s | %s |\n", m.Name, cell(m.Unit), cell(m.Help))
		}
	}
	fmt.Fprint(w, "\n## Workloads\n")
	for _, wl := range l.Workloads {
		fmt.Fprintf(w, "\n### `%s`\n\n%s\n", wl.Name, cell(wl.Description))
		if len(wl.Params) > 0 {
			fmt.Fprint(w, "\n| parameter | values | default | what it does |\n| --- | --- | --- | --- |\n")
			for _, p := range wl.Params {
				kind := p.Kind
				if len(p.Values) > 0 {
					kind = strings.Join(p.Values, ", ")
				}
				def := "`" + p.Default + "`"
				if p.HostDefault {
					def = "the host's"
				}
				fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", p.Name, cell(kind), def, cell(p.Help))
			}
		}
		metricTable(wl.Metrics)
	}
	fmt.Fprint(w, "\n## What every trial costs\n\nMeasured by the platform, added to every successful trial's metrics.\n")
	metricTable(l.CostMetrics)
	fmt.Fprint(w, "\n## What every density level costs\n\nOn the level's own sample (instance 0); see [capacity.md](capacity.md).\n")
	metricTable(l.DensityMetrics)
	fmt.Fprint(w, "\n## Platform types\n")
	for _, p := range l.Platforms {
		fmt.Fprintf(w, "\n### `%s`\n\n%s.\n", p.Type, cell(p.Description))
		if len(p.Options) == 0 {
			fmt.Fprint(w, "\nNo options.\n")
			continue
		}
		fmt.Fprint(w, "\n| option | kind | default | what it does |\n| --- | --- | --- | --- |\n")
		for _, o := range p.Options {
			def := "—"
			if o.Default != "" {
				def = "`" + cell(o.Default) + "`"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", o.Key, o.Kind, def, cell(o.Help))
		}
	}
}
