package result

import (
	"strings"
)

// Names of what a run creates on a host: containers, guests, images,
// cgroups, temp and scratch directories, network namespaces are
// vmbench-<run-id>-<parts>; links and nftables tables, whose names the
// kernel keeps to 15 characters, vmbench-<tag><kind>, the tag being the run
// id's last 4 hex digits. `vmbench cleanup` parses these names back into
// run ids (runner's owner), so every creator uses these functions.

// NamePrefix starts the name of everything vmbench creates on a host.
const NamePrefix = "vmbench-"

// Name is the name of something run runID creates: vmbench-<run-id>, then
// each part after a "-".
func Name(runID string, parts ...string) string {
	return NamePrefix + strings.Join(append([]string{runID}, parts...), "-")
}

// Tag is the part of a run id that names its links: its last 4 hex digits.
func Tag(runID string) string { return runID[max(len(runID)-4, 0):] }

// LinkName is the name of a link (bridge, veth, tap) or nftables table of
// run runID: vmbench-<tag><kind>, kind a letter and a number (b, v3, t2).
func LinkName(runID, kind string) string { return NamePrefix + Tag(runID) + kind }

// FileName is a name (a platform's, a matrix's vm[vcpus=2,pin=0+1]) as it
// goes into file names, QEMU options, network namespaces and temp dirs: a
// character QEMU's option parser or a reader's shell trips on ("," ends a
// value, "=" in -name makes it a key), or a "/" that would leave the
// directory, becomes "_".
func FileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name)
}

// TwinName is the name of platform's twin: the definition of it in the
// baseline run baselineRun, re-run by vmbench gate --retry beside this
// run's, round by round. A scenario's own platform names cannot hold "@".
func TwinName(platform, baselineRun string) string { return platform + "@" + baselineRun }

// TwinOf returns the platform a twin's name stands beside.
func TwinOf(name string) (string, bool) {
	i := strings.LastIndexByte(name, '@')
	if i < 0 {
		return "", false
	}
	return name[:i], true
}
