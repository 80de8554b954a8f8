// Package scenarios holds the scenarios shipped with vmbench. The default
// one is embedded in the binary so that `vmbench run` needs no file.
package scenarios

import _ "embed"

// DefaultName is the name the embedded default scenario is reported under.
const DefaultName = "scenarios/default.yaml"

// Default is scenarios/default.yaml.
//
//go:embed default.yaml
var Default []byte
