package scenario

import (
	"encoding/json"
	"time"

	"github.com/vmbench/vmbench/internal/options"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// SchemaID names the JSON Schema of the scenario format, version 1.
const SchemaID = "https://github.com/vmbench/vmbench/docs/scenario.schema.json"

// JSONSchema is the scenario format as a JSON Schema (draft 2020-12), for
// editors (yaml-language-server) to complete and check keys. It is made
// from the declarations the decoder reads — the key lists, the platform
// options' structs, the workloads' parameters — so that the two cannot
// disagree on which keys exist. The decoder stays the judge of values (a
// size, a duration, a margin, what fits in a guest); the schema checks
// keys, types and enumerations.
func JSONSchema() []byte {
	type obj = map[string]any
	scalar := obj{"type": []string{"string", "number", "boolean"}}
	scalarOrList := obj{"anyOf": []any{scalar, obj{"type": "array", "items": scalar}}}
	strList := obj{"type": "array", "items": obj{"type": "string"}}
	keysOf := func(keys []string, each func(string) any) obj {
		props := obj{}
		for _, k := range keys {
			props[k] = each(k)
		}
		return props
	}
	closed := func(keys []string, required []string, each func(string) any) obj {
		o := obj{"type": "object", "properties": keysOf(keys, each), "additionalProperties": false}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	// Platforms: one object whose type selects the options it takes.
	optionTypes := func(opts, defaults any) obj {
		props := obj{"name": obj{"type": "string"}, "type": obj{}}
		help := map[string]string{}
		for _, o := range options.Describe(defaults) {
			help[o.Key] = o.Help
			if o.Default != "" {
				help[o.Key] += " (default " + o.Default + ")"
			}
		}
		options.Fields(opts, func(key string, field any) {
			var t obj
			switch field.(type) {
			case *string:
				t = obj{"type": "string"}
			case *bool:
				t = obj{"type": "boolean"}
			case *int:
				t = obj{"type": "integer"}
			case *int64, *time.Duration: // sizes (512MiB) and durations (60s)
				t = obj{"type": []string{"string", "integer"}}
			case *float64:
				t = obj{"type": "number"}
			case *[]int:
				t = obj{"type": "array", "items": obj{"type": []string{"integer", "array", "string"}}}
			}
			if _, list := field.(*[]int); list {
				props[key] = obj{"description": help[key], "type": t["type"], "items": t["items"]} // pin: a list already; a list of lists or none is its matrix
			} else {
				props[key] = obj{"description": help[key], "anyOf": []any{t, obj{"type": "array", "items": t}}} // a list makes a matrix
			}
		})
		return props
	}
	byType := map[string]obj{
		Native:    {"name": obj{"type": "string"}, "type": obj{}},
		Container: optionTypes(&options.ContainerOptions{}, options.DefaultContainerOptions()),
		VM:        optionTypes(&options.VMOptions{}, options.DefaultVMOptions()),
		Remote:    optionTypes(&options.RemoteOptions{}, options.DefaultRemoteOptions()),
	}
	allPlatformProps := obj{}
	var platformIfs []any
	for _, t := range PlatformTypes {
		for k, v := range byType[t] {
			allPlatformProps[k] = v
		}
		platformIfs = append(platformIfs, obj{
			"if":   obj{"properties": obj{"type": obj{"const": t}}},
			"then": obj{"properties": byType[t], "additionalProperties": false},
		})
	}
	allPlatformProps["type"] = obj{"enum": PlatformTypes}
	platform := obj{"type": "object", "required": []string{"name", "type"}, "properties": allPlatformProps, "allOf": platformIfs}

	// Workloads: the type selects the parameters.
	var types []string
	var workloadIfs []any
	for _, w := range workloads.All() {
		types = append(types, w.Name())
		params := obj{}
		for _, p := range w.Params() {
			v := obj{"description": p.Help}
			if p.Kind == workload.Enum {
				v["anyOf"] = []any{obj{"enum": p.Choices}, obj{"type": "array", "items": obj{"enum": p.Choices}}}
			} else {
				v["anyOf"] = scalarOrList["anyOf"]
			}
			params[p.Name] = v
		}
		workloadIfs = append(workloadIfs, obj{
			"if":   obj{"properties": obj{"type": obj{"const": w.Name()}}},
			"then": obj{"properties": obj{"params": obj{"type": "object", "properties": params, "additionalProperties": false}}},
		})
	}
	appMetric := closed(appMetricKeys, []string{"name", "unit"}, func(k string) any {
		if k == "better" {
			return obj{"enum": []string{"higher", "lower"}}
		}
		return obj{"type": "string"}
	})
	app := closed(appKeys, []string{"command"}, func(k string) any {
		switch k {
		case "command", "client":
			return strList
		case "metrics":
			return obj{"type": "array", "items": appMetric}
		case "port":
			return obj{"type": "integer"}
		}
		return obj{"type": "string"}
	})
	wl := closed(workloadKeys, []string{"type"}, func(k string) any {
		switch k {
		case "type":
			return obj{"enum": types}
		case "params":
			return obj{"type": "object"}
		case "negligible":
			return obj{"anyOf": []any{scalar, obj{"type": "object", "additionalProperties": scalar}}}
		case "platforms":
			return strList
		case "app":
			return app
		}
		return obj{"type": "string"}
	})
	wl["allOf"] = workloadIfs

	gateProps := func(k string) any {
		switch k {
		case "where":
			return obj{"type": "object", "additionalProperties": scalar}
		case "platform":
			return obj{"anyOf": []any{obj{"type": "string"}, strList}}
		case "hosts":
			return obj{"enum": []string{"all", "any"}}
		case "aggregate":
			return obj{"enum": Aggregates}
		case "of":
			return obj{"enum": []string{"overhead", "value"}}
		}
		return scalar
	}
	gate := obj{"anyOf": []any{
		closed(gateKeys, []string{"metric"}, gateProps),
		closed(capacityKeys, nil, gateProps),
	}}
	density := closed(densityKeys, []string{"levels"}, func(k string) any {
		switch k {
		case "levels":
			return obj{"anyOf": []any{
				obj{"type": "array", "items": obj{"type": "integer"}},
				closed(levelKeys, []string{"from", "to"}, func(k string) any {
					if k == "step" {
						return obj{"type": []string{"string", "integer"}}
					}
					return obj{"type": "integer"}
				}),
			}}
		case "slo":
			return obj{"type": "array", "items": closed(gateKeys, []string{"metric"}, gateProps)}
		case "guards":
			return closed(guardKeys, nil, func(string) any { return scalar })
		}
		return obj{"type": "integer"}
	})

	top := closed(scenarioKeys, []string{"version", "name", "platforms", "workloads"}, func(k string) any {
		switch k {
		case "version":
			return obj{"const": 1}
		case "platforms":
			return obj{"type": "array", "minItems": 1, "items": platform}
		case "workloads":
			return obj{"type": "array", "minItems": 1, "items": wl}
		case "gates":
			return obj{"type": "array", "items": gate}
		case "density":
			return density
		case "compare":
			return strList
		case "repetitions", "warmup", "max_repetitions":
			return obj{"type": "integer"}
		case "profile":
			return obj{"type": "boolean"}
		}
		return obj{"type": []string{"string", "number"}}
	})
	top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	top["$id"] = SchemaID
	top["title"] = "vmbench scenario, version 1"
	b, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		panic(err) // maps of strings, numbers and slices always marshal
	}
	return append(b, '\n')
}
