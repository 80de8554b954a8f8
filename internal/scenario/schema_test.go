package scenario

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/workloads"
)

// The schema file the shipped scenarios name in their
// yaml-language-server line.
const schemaFile = "../../docs/scenario.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("the schema does not compile as JSON Schema: %v", err)
	}
	return sch
}

// instance reads YAML as the JSON value an editor's schema check sees.
func instance(t *testing.T, text []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// The file in docs/ is what vmbench schema prints.
func TestSchemaFileIsCurrent(t *testing.T) {
	b, err := os.ReadFile(schemaFile)
	if err != nil || !bytes.Equal(b, JSONSchema()) {
		t.Errorf("%s is not what vmbench schema prints (%v): go run ./cmd/vmbench schema > docs/scenario.schema.json", schemaFile, err)
	}
}

// Every shipped scenario validates against the schema, and names it for
// editors.
func TestShippedScenariosMatchTheSchema(t *testing.T) {
	sch := compileSchema(t)
	var files []string
	for _, g := range []string{"../../scenarios/*.yaml", "../../scenarios/*/*.yaml", "../../deploy/ansible/*.yaml", "../../cmd/vmbench/testdata/golden.yaml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 12 {
		t.Fatalf("found only %d scenarios: %v", len(files), files)
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(instance(t, text)); err != nil {
			t.Errorf("%s does not match the schema: %v", f, err)
		}
		if !strings.HasPrefix(f, "../../scenarios/") {
			continue
		}
		rel, _ := filepath.Rel(filepath.Dir(f), schemaFile)
		if line := "# yaml-language-server: $schema=" + rel + "\n"; !bytes.HasPrefix(text, []byte(line)) {
			t.Errorf("%s does not begin with %q", f, line)
		}
	}
}

// The schema refuses the keys the decoder refuses, at every level, and
// declares the keys the decoder reads: each platform type's options and
// each workload's parameters.
func TestSchemaKnowsTheDecodersKeys(t *testing.T) {
	sch := compileSchema(t)
	good := "version: 1\nname: s\nplatforms:\n  - {name: n, type: native}\n  - {name: v, type: vm, vcpus: [1, 2], memory: 512MiB}\nworkloads:\n  - {type: cpu, params: {threads: [1, 2]}}\n"
	if err := sch.Validate(instance(t, []byte(good))); err != nil {
		t.Fatalf("a good scenario: %v", err)
	}
	if _, err := Load("good.yaml", []byte(good)); err != nil {
		t.Fatalf("a good scenario: %v", err)
	}
	for _, typo := range []struct{ old, new string }{
		{"name: s\n", "nmae: s\nname: s\n"},                              // top level
		{"vcpus: [1, 2]", "vcpu: 2"},                                     // a vm option
		{"{name: n, type: native}", "{name: n, type: native, vcpus: 2}"}, // an option of another type
		{"threads: [1, 2]", "thread: 2"},                                 // a workload parameter
		{"type: cpu", "type: cpus"},                                      // a workload type
		{"type: vm,", "type: kvm,"},                                      // a platform type
	} {
		bad := strings.Replace(good, typo.old, typo.new, 1)
		if err := sch.Validate(instance(t, []byte(bad))); err == nil {
			t.Errorf("the schema accepts %q", typo.new)
		}
		if _, err := Load("bad.yaml", []byte(bad)); err == nil {
			t.Errorf("the decoder accepts %q", typo.new)
		}
	}

	var doc map[string]any
	json.Unmarshal(JSONSchema(), &doc)
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	keys := func(m any) []string {
		var out []string
		for k := range m.(map[string]any) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	platform := get(doc, "properties", "platforms", "items")
	for i, typ := range PlatformTypes {
		want := slices.Sorted(slices.Values(append([]string{"name", "type"}, PlatformOptions(typ)...)))
		if got := keys(get(platform, "allOf", i, "then", "properties")); !slices.Equal(got, want) {
			t.Errorf("platform type %s: the schema has %v, the decoder %v", typ, got, want)
		}
	}
	wl := get(doc, "properties", "workloads", "items")
	for i, w := range workloads.All() {
		var want []string
		for _, p := range w.Params() {
			want = append(want, p.Name)
		}
		slices.Sort(want)
		if got := keys(get(wl, "allOf", i, "then", "properties", "params", "properties")); !slices.Equal(got, want) {
			t.Errorf("workload %s: the schema has %v, the workload %v", w.Name(), got, want)
		}
	}
	if got := keys(get(doc, "properties")); !slices.Equal(got, slices.Sorted(slices.Values(scenarioKeys))) {
		t.Errorf("top level: the schema has %v, the decoder %v", got, scenarioKeys)
	}
}
