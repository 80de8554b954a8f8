package scenario

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Edits of a scenario from the command line, made on its YAML text, so that
// the copy a run stores (and resume, gate --retry and reports read) is the
// scenario that ran: `vmbench run --set repetitions=3 --only cpu,native`.

// settable are the top-level keys --set may change.
var settable = []string{"repetitions", "warmup", "max_repetitions", "timeout", "sample_interval", "negligible", "precision", "time_budget", "max_duration", "profile", "baseline", "scratch_dir"}

// Edit applies --set key=value (a top-level key of settable, or a
// workload parameter, set on every workload that has it: duration=300ms)
// and --only names (the workloads and platforms to keep; gates on what goes
// go too) to a scenario's text. The result still has to load.
func Edit(text []byte, sets, only []string) ([]byte, error) {
	if len(sets) == 0 && len(only) == 0 {
		return text, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the scenario is not a YAML mapping: fix it before editing it (vmbench validate says where)")
	}
	root := doc.Content[0]
	for _, kv := range sets {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %q: want key=value, such as repetitions=3 or duration=300ms", kv)
		}
		if slices.Contains(settable, key) {
			setKey(root, key, value)
			continue
		}
		n := 0
		for _, w := range seqOf(root, "workloads") {
			impl, ok := workloads.Lookup(scalarOf(w, "type"))
			if !ok || !slices.ContainsFunc(impl.Params(), func(p workload.Param) bool { return p.Name == key }) {
				continue
			}
			params := valueOf(w, "params")
			if params == nil {
				params = &yaml.Node{Kind: yaml.MappingNode}
				w.Content = append(w.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "params"}, params)
			}
			setKey(params, key, value)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("--set %s: neither a scenario key (%s) nor a parameter of any of its workloads", key, strings.Join(settable, ", "))
		}
	}
	if len(only) > 0 {
		keep := func(list string, name func(*yaml.Node) string) []string {
			seq := valueOf(root, list)
			if seq == nil {
				return nil
			}
			var kept []*yaml.Node
			var names []string
			for _, n := range seq.Content {
				if slices.Contains(only, name(n)) {
					kept = append(kept, n)
					names = append(names, name(n))
				}
			}
			if len(kept) > 0 { // --only names none of them: keep them all
				seq.Content = kept
				return names
			}
			for _, n := range seq.Content {
				names = append(names, name(n))
			}
			return names
		}
		ws := keep("workloads", func(n *yaml.Node) string {
			if name := scalarOf(n, "name"); name != "" {
				return name
			}
			return scalarOf(n, "type")
		})
		ps := keep("platforms", func(n *yaml.Node) string { return scalarOf(n, "name") })
		for _, o := range only {
			if !slices.Contains(ws, o) && !slices.Contains(ps, o) {
				return nil, fmt.Errorf("--only %s: the scenario has no workload or platform of that name (workloads: %s; platforms: %s)", o, strings.Join(ws, ", "), strings.Join(ps, ", "))
			}
		}
		// A workload's platforms: lose the platforms --only drops; a
		// workload left with none of its own goes too.
		if seq := valueOf(root, "workloads"); seq != nil {
			seq.Content = slices.DeleteFunc(seq.Content, func(w *yaml.Node) bool {
				list := valueOf(w, "platforms")
				if list == nil || list.Kind != yaml.SequenceNode {
					return false
				}
				list.Content = slices.DeleteFunc(list.Content, func(p *yaml.Node) bool {
					family, _, _ := strings.Cut(p.Value, "[")
					return !slices.Contains(ps, family)
				})
				return len(list.Content) == 0
			})
		}
		if b := scalarOf(root, "baseline"); b != "" && !slices.Contains(ps, b) {
			return nil, fmt.Errorf("--only keeps no platform %s, the scenario's baseline: add it, or --set baseline=%s", b, ps[0])
		}
		if gates := valueOf(root, "gates"); gates != nil {
			gates.Content = slices.DeleteFunc(gates.Content, func(g *yaml.Node) bool {
				w, _, _ := strings.Cut(scalarOf(g, "metric"), ".")
				p, _, _ := strings.Cut(scalarOf(g, "platform"), "[") // a matrix variant's family
				v, _, _ := strings.Cut(scalarOf(g, "versus"), "[")
				return w != "" && w != "boot" && !slices.Contains(ws, w) || p != "" && !slices.Contains(ps, p) || v != "" && !slices.Contains(ps, v)
			})
		}
	}
	return yaml.Marshal(&doc)
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarOf(m *yaml.Node, key string) string {
	if v := valueOf(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func seqOf(m *yaml.Node, key string) []*yaml.Node {
	if v := valueOf(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// setKey sets key to a scalar value in mapping m, replacing what was there.
func setKey(m *yaml.Node, key, value string) {
	v := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}
