package runner

import (
	"regexp"
	"strings"
)

// Names of what a run creates: vmbench-<run-id>-… (containers, guests,
// temp and scratch dirs, network namespaces; vmbench doctor's guests are
// vmbench-doctor-…), or for the links and nftables tables, which must be
// short, vmbench-<the run id's last 4 hex digits><kind><n>.
var (
	runIDName = regexp.MustCompile(`^vmbench-(\d{8}-\d{6}-[0-9a-f]{4}|doctor)(?:-|$)`)
	tagName   = regexp.MustCompile(`^vmbench-([0-9a-f]{4})[bvtn]\d*$`)
)

// owner tells whose a resource named name is: ours is false when the name
// is not one vmbench gives (a user's /tmp/vmbench-mycheckout), alive names
// the live run it belongs to ("" when none does).
func owner(name string, live []string) (ours bool, alive string) {
	if m := runIDName.FindStringSubmatch(name); m != nil {
		for _, id := range live {
			if id == m[1] {
				return true, id
			}
		}
		return true, ""
	}
	if m := tagName.FindStringSubmatch(name); m != nil {
		for _, id := range live {
			if strings.HasSuffix(id, m[1]) {
				return true, id
			}
		}
		return true, ""
	}
	return false, ""
}
