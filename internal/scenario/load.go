package scenario

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/workloads/app"

	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/internal/units"
)

// LoadFile reads, decodes and validates the scenario at path. The error, if
// any, is an Errors listing every problem.
func LoadFile(path string) (*Scenario, []byte, error) {
	return LoadEdited(path, nil, nil)
}

// LoadEdited reads path, applies --set and --only (Edit) and loads the
// result, which it also returns: the text a run stores.
func LoadEdited(path string, sets, only []string) (*Scenario, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if data, err = Edit(data, sets, only); err != nil {
		return nil, nil, err
	}
	s, err := Load(path, data)
	return s, data, err
}

// Stored is the scenario a run was made of, as its run.json keeps it; its
// errors name it "PATH (as stored in run.json)".
func Stored(info result.RunInfo) (*Scenario, error) {
	name := info.Scenario.Path
	if name == "" {
		name = info.Scenario.Name
	}
	return Load(name+" (as stored in run.json)", []byte(info.Scenario.Text))
}

// Load decodes and validates a scenario; name is used in error messages.
func Load(name string, data []byte) (*Scenario, error) {
	s, errs := Decode(name, data)
	if s != nil {
		errs = append(errs, Validate(s)...).unique()
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Decode turns YAML into a Scenario, checking structure and types only:
// unknown keys, wrong kinds, values that do not parse. Defaults are filled
// in. Validate checks the meaning.
func Decode(name string, data []byte) (*Scenario, Errors) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		e := Error{File: name, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Pos.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		return nil, Errors{e}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: name, Pos: Pos{1, 1}, Msg: "the file is empty; a scenario needs at least name, platforms and workloads"}}
	}
	d := &decoder{file: name, pos: map[string]Pos{}}
	s := &Scenario{
		file:        name,
		Repetitions: DefaultRepetitions,
		Warmup:      DefaultWarmup,
		Timeout:     DefaultTimeout,
		Sample:      DefaultSample,
		Profile:     true,
		ScratchDir:  DefaultScratchDir,
		Verdicts:    Verdicts{Negligible: stats.DefaultMargin},
		MaxDuration: DefaultMaxDuration,
	}
	doc := root.Content[0]
	f := d.fields(doc, "", "scenario", scenarioKeys, "version", "name", "platforms", "workloads")
	d.intField(f, "version", "version", &s.Version)
	d.strField(f, "name", "name", &s.Name)
	d.strField(f, "description", "description", &s.Description)
	d.intField(f, "repetitions", "repetitions", &s.Repetitions)
	d.intField(f, "warmup", "warmup", &s.Warmup)
	d.strField(f, "baseline", "baseline", &s.Baseline)
	d.durationField(f, "timeout", "timeout", &s.Timeout)
	d.durationField(f, "max_duration", "max_duration", &s.MaxDuration)
	d.durationField(f, "sample_interval", "sample_interval", &s.Sample)
	d.boolField(f, "profile", "profile", &s.Profile)
	d.strField(f, "scratch_dir", "scratch_dir", &s.ScratchDir)
	d.strField(f, "tools_image", "tools_image", &s.ToolsImage)
	d.verdicts(f, &s.Verdicts)
	if n := f["platforms"]; n != nil {
		for i, item := range d.seq(n, "platforms") {
			s.Platforms = append(s.Platforms, d.platformMatrix(item, fmt.Sprintf("platforms[%d]", i))...)
		}
	}
	if n := f["workloads"]; n != nil {
		for i, item := range d.seq(n, "workloads") {
			s.Workloads = append(s.Workloads, d.workload(item, fmt.Sprintf("workloads[%d]", i)))
		}
	}
	if n := f["gates"]; n != nil {
		for i, item := range d.seq(n, "gates") {
			s.Gates = append(s.Gates, d.gate(item, fmt.Sprintf("gates[%d]", i)))
		}
	}
	s.Density = d.density(f["density"])
	s.pos = d.pos
	return s, d.errs.unique()
}

// The keys of a scenario's mappings, for the decoder and the JSON Schema
// (schema.go) alike. Platform options come from their structs' opt tags.
var (
	scenarioKeys = []string{"version", "name", "description", "repetitions", "warmup", "baseline", "timeout", "sample_interval", "profile", "scratch_dir", "tools_image", "platforms", "workloads", "gates",
		"negligible", "compare", "max_repetitions", "precision", "time_budget", "density", "max_duration"}
	workloadKeys  = []string{"name", "type", "params", "negligible", "platforms", "app"}
	appKeys       = []string{"command", "metrics", "parser", "port", "client"}
	appMetricKeys = []string{"name", "unit", "regex", "json", "better"}
)

// Options of each platform type, beside name and type.
var platformOptions = map[string][]string{
	Native:    {},
	Container: options.Keys(options.ContainerOptions{}),
	VM:        options.Keys(options.VMOptions{}),
	Remote:    options.Keys(options.RemoteOptions{}),
}

// PlatformTypes lists the platform types in the order `vmbench list` shows them.
var PlatformTypes = []string{Native, Container, VM, Remote}

// PlatformOptions returns the options a platform type accepts.
func PlatformOptions(typ string) []string { return platformOptions[typ] }

// platformMatrix decodes a platform entry: one platform, or, when options
// are lists (a matrix: vcpus: [1, 2]), one per combination of their values,
// named family[key=value,...] in the order the options are written. pin is
// a matrix when a value of its list is a list or none (pin: [none, [0, 1]]).
func (d *decoder) platformMatrix(n *yaml.Node, path string) []Platform {
	if n.Kind != yaml.MappingNode {
		return []Platform{d.platform(n, path)}
	}
	type axis struct {
		key    string
		values []*yaml.Node
	}
	var axes []axis
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "name" || k.Value == "type" || v.Kind != yaml.SequenceNode {
			continue
		}
		if k.Value == "pin" && !slices.ContainsFunc(v.Content, func(e *yaml.Node) bool { return e.Kind == yaml.SequenceNode || e.Value == "none" }) {
			continue
		}
		if len(v.Content) == 0 {
			d.fail(v, path+"."+k.Value, "a list of values makes a matrix, and needs at least one value")
			continue
		}
		axes = append(axes, axis{k.Value, v.Content})
	}
	if len(axes) == 0 {
		return []Platform{d.platform(n, path)}
	}
	// Counted before anything is expanded: a few short lists multiply into
	// more platforms than memory holds.
	count := 1
	for _, ax := range axes {
		if count *= len(ax.values); count > MaxPlatforms {
			break
		}
	}
	if count > MaxPlatforms {
		var sizes []string
		for _, ax := range axes {
			sizes = append(sizes, fmt.Sprintf("%s: %d", ax.key, len(ax.values)))
		}
		d.fail(n, path, "the matrix's lists (%s) multiply into more than %d platforms: give fewer values, or split it into several entries", strings.Join(sizes, ", "), MaxPlatforms)
		return nil
	}
	family := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			family = n.Content[i+1].Value
		}
	}
	var out []Platform
	idx := make([]int, len(axes))
	for {
		clone := *n
		clone.Content = slices.Clone(n.Content)
		var parts []string
		d.keyPaths = map[string]string{}
		var matrix [][2]string
		for a, ax := range axes {
			elem := ax.values[idx[a]]
			kp := fmt.Sprintf("%s.%s[%d]", path, ax.key, idx[a])
			d.keyPaths[ax.key] = kp
			d.at(kp, elem)
			for i := 0; i+1 < len(clone.Content); i += 2 {
				if clone.Content[i].Value == ax.key {
					clone.Content[i+1] = elem
				}
			}
			text := elem.Value
			if elem.Kind == yaml.SequenceNode {
				var vs []string
				for _, e := range elem.Content {
					vs = append(vs, e.Value)
				}
				text = strings.Join(vs, "+")
			}
			if ax.key == "pin" && elem.Value == "none" {
				for i := 0; i+1 < len(clone.Content); i += 2 {
					if clone.Content[i].Value == "pin" {
						clone.Content = append(clone.Content[:i:i], clone.Content[i+2:]...)
						break
					}
				}
			}
			parts = append(parts, ax.key+"="+text)
			matrix = append(matrix, [2]string{ax.key, text})
		}
		v := d.platform(&clone, path)
		v.Family, v.Matrix = family, matrix
		v.Name = family + "[" + strings.Join(parts, ",") + "]"
		v.path, v.keyPaths = path, d.keyPaths
		out = append(out, v)
		d.keyPaths = nil
		// The next combination: the last option varies fastest.
		a := len(axes) - 1
		for ; a >= 0; a-- {
			if idx[a]++; idx[a] < len(axes[a].values) {
				break
			}
			idx[a] = 0
		}
		if a < 0 {
			return out
		}
	}
}

func (d *decoder) platform(n *yaml.Node, path string) Platform {
	p := Platform{Container: options.DefaultContainerOptions(), VM: options.DefaultVMOptions(), Remote: options.DefaultRemoteOptions(), path: path}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping with name and type")
		return p
	}
	// The type decides which keys are allowed, so read it first.
	allowed := []string{"name", "type"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			p.Type = n.Content[i+1].Value
		}
	}
	opts, known := platformOptions[p.Type]
	if known {
		allowed = append(allowed, opts...)
	} else {
		// Unknown or missing type: report that, not every option as unknown.
		allowed = append(allowed, platformOptions[VM]...)
		allowed = append(allowed, platformOptions[Container]...)
	}
	f := d.fields(n, path, "platform type "+p.Type, allowed, "name", "type")
	d.strField(f, "name", path+".name", &p.Name)
	switch p.Type {
	case "":
		p.Type = "?"
	case Container:
		d.options(f, path, &p.Container)
	case VM:
		d.options(f, path, &p.VM)
	case Remote:
		d.options(f, path, &p.Remote)
	}
	return p
}

// options decodes the keys of an options struct (options.Fields)
// from f into *opts.
func (d *decoder) options(f map[string]*yaml.Node, path string, opts any) {
	options.Fields(opts, func(key string, field any) {
		kpath := path + "." + key
		if kp, ok := d.keyPaths[key]; ok {
			kpath = kp
		}
		switch v := field.(type) {
		case *string:
			d.strField(f, key, kpath, v)
		case *bool:
			d.boolField(f, key, kpath, v)
		case *int:
			d.intField(f, key, kpath, v)
		case *int64: // every int64 option is a size
			d.sizeField(f, key, kpath, v)
		case *float64:
			d.floatField(f, key, kpath, v)
		case *time.Duration:
			d.durationField(f, key, kpath, v)
		case *[]int:
			if f[key] == nil {
				return
			}
			for i, item := range d.seq(f[key], kpath) {
				var n int
				if d.int(item, fmt.Sprintf("%s[%d]", kpath, i), &n) {
					*v = append(*v, n)
				}
			}
		default:
			panic(fmt.Sprintf("scenario: option %s has a kind the decoder does not know: %T", key, field))
		}
	})
}

func (d *decoder) workload(n *yaml.Node, path string) Workload {
	var w Workload
	f := d.fields(n, path, "workload", workloadKeys, "type")
	if an := f["app"]; an != nil {
		w.App = d.app(an, path+".app")
	}
	d.strField(f, "type", path+".type", &w.Type)
	if pn := f["platforms"]; pn != nil {
		ppath := path + ".platforms"
		if pn.Kind != yaml.SequenceNode || len(pn.Content) == 0 {
			d.fail(pn, ppath, "must be a list of platform names (or matrix families) the workload runs on, besides the baseline")
		} else {
			for j, item := range pn.Content {
				ipath := fmt.Sprintf("%s[%d]", ppath, j)
				if d.scalar(item, ipath) {
					w.Platforms = append(w.Platforms, item.Value)
					d.at(ipath, item)
				}
			}
		}
	}
	w.Name = w.Type
	d.strField(f, "name", path+".name", &w.Name)
	w.Margins = d.margins(f["negligible"], path+".negligible")
	pn := f["params"]
	if pn == nil {
		return w
	}
	ppath := path + ".params"
	if pn.Kind != yaml.MappingNode {
		d.fail(pn, ppath, "must be a mapping of parameter names to a value or a list of values")
		return w
	}
	for i := 0; i+1 < len(pn.Content); i += 2 {
		k, v := pn.Content[i], pn.Content[i+1]
		kpath := ppath + "." + k.Value
		d.at(kpath, k)
		param := Param{Key: k.Value}
		switch v.Kind {
		case yaml.ScalarNode:
			if d.scalar(v, kpath) {
				param.Values = []string{v.Value}
				d.at(kpath+"[0]", v)
			}
		case yaml.SequenceNode:
			if len(v.Content) == 0 {
				d.fail(v, kpath, "an empty list gives no variant; give at least one value")
			}
			for j, item := range v.Content {
				ipath := fmt.Sprintf("%s[%d]", kpath, j)
				if d.scalar(item, ipath) {
					param.Values = append(param.Values, item.Value)
					d.at(ipath, item)
				}
			}
		default:
			d.fail(v, kpath, "must be a value or a list of values")
		}
		w.Params = append(w.Params, param)
	}
	return w
}

// decoder walks yaml nodes, recording positions and collecting errors.
type decoder struct {
	file string
	errs Errors
	pos  map[string]Pos
	// keyPaths, while a matrix variant is decoded, are the paths of its
	// matrix options' values: vcpus → platforms[2].vcpus[1].
	keyPaths map[string]string
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Pos: Pos{n.Line, n.Column}, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) at(path string, n *yaml.Node) { d.pos[path] = Pos{n.Line, n.Column} }

// fields checks that n is a mapping whose keys are all allowed, none
// repeated and all required ones present, and returns the value nodes.
func (d *decoder) fields(n *yaml.Node, path, what string, allowed []string, required ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	d.at(path, n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping (key: value lines), got %s", kindName(n))
		return out
	}
	join := func(p, k string) string {
		if p == "" {
			return k
		}
		return p + "." + k
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		switch {
		case !slices.Contains(allowed, k.Value):
			d.fail(k, kp, "unknown field for %s (fields: %s)", what, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			d.fail(k, kp, "given twice")
		default:
			out[k.Value] = v
			d.at(kp, v)
		}
	}
	for _, r := range required {
		if out[r] == nil {
			where := path
			if where == "" {
				where = what
			}
			d.fail(n, where, "missing required field %q", r)
		}
	}
	return out
}

func (d *decoder) seq(n *yaml.Node, path string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list (lines starting with -), got %s", kindName(n))
		return nil
	}
	for i, item := range n.Content {
		d.at(fmt.Sprintf("%s[%d]", path, i), item)
	}
	return n.Content
}

func (d *decoder) scalar(n *yaml.Node, path string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(n, path, "must be a value, got %s", kindName(n))
		return false
	}
	return true
}

func (d *decoder) int(n *yaml.Node, path string, dst *int) bool {
	if !d.scalar(n, path) {
		return false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		d.fail(n, path, "must be a whole number, got %q", n.Value)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) strField(f map[string]*yaml.Node, key, path string, dst *string) {
	if n := f[key]; n != nil && d.scalar(n, path) {
		*dst = n.Value
	}
}

func (d *decoder) intField(f map[string]*yaml.Node, key, path string, dst *int) {
	if n := f[key]; n != nil {
		d.int(n, path, dst)
	}
}

func (d *decoder) floatField(f map[string]*yaml.Node, key, path string, dst *float64) {
	if n := f[key]; n != nil && d.scalar(n, path) {
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.fail(n, path, "must be a number, got %q", n.Value)
			return
		}
		*dst = v
	}
}

func (d *decoder) boolField(f map[string]*yaml.Node, key, path string, dst *bool) {
	if n := f[key]; n != nil && d.scalar(n, path) {
		switch n.Value {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			d.fail(n, path, "must be true or false, got %q", n.Value)
		}
	}
}

func (d *decoder) durationField(f map[string]*yaml.Node, key, path string, dst *time.Duration) {
	if n := f[key]; n != nil && d.scalar(n, path) {
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(n, path, "must be a duration such as 90s or 5m, got %q", n.Value)
			return
		}
		*dst = v
	}
}

func (d *decoder) sizeField(f map[string]*yaml.Node, key, path string, dst *int64) {
	if n := f[key]; n != nil && d.scalar(n, path) {
		v, err := units.ParseSize(n.Value)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		*dst = v
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// app decodes an app workload's block.
func (d *decoder) app(n *yaml.Node, path string) *app.Spec {
	var s app.Spec
	f := d.fields(n, path, "app", appKeys, "command")
	s.Command = d.strList(f["command"], path+".command")
	s.Client = d.strList(f["client"], path+".client")
	d.strField(f, "parser", path+".parser", &s.Parser)
	d.intField(f, "port", path+".port", &s.Port)
	mn := f["metrics"]
	if mn == nil {
		return &s
	}
	if mn.Kind != yaml.SequenceNode {
		d.fail(mn, path+".metrics", "must be a list of {name, unit, regex or json}")
		return &s
	}
	for j, item := range mn.Content {
		mp := fmt.Sprintf("%s.metrics[%d]", path, j)
		mf := d.fields(item, mp, "app metric", appMetricKeys, "name", "unit")
		var m app.Metric
		d.strField(mf, "name", mp+".name", &m.Name)
		d.strField(mf, "unit", mp+".unit", &m.Unit)
		d.strField(mf, "regex", mp+".regex", &m.Regex)
		d.strField(mf, "json", mp+".json", &m.JSON)
		d.strField(mf, "better", mp+".better", &m.Better)
		s.Metrics = append(s.Metrics, m)
	}
	return &s
}

// strList decodes a list of strings (an argument vector); nil when n is.
func (d *decoder) strList(n *yaml.Node, path string) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list of strings, one per argument ([/usr/bin/myapp, --flag, value]): vmbench runs no shell")
		return nil
	}
	var out []string
	for j, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, j)
		if d.scalar(item, ipath) {
			out = append(out, item.Value)
			d.at(ipath, item)
		}
	}
	return out
}
