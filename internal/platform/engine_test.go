package platform

import (
	"strings"
	"testing"
)

func TestVolumeSourcesWithAColonAreRefused(t *testing.T) {
	if err := volumeSources("/var/tmp/vmbench-r-scratch-1/box-2", "/usr/local/bin/vmbench"); err != nil {
		t.Error(err)
	}
	if err := volumeSources("/srv/a:b/scratch"); err == nil || !strings.Contains(err.Error(), "holds a ':'") {
		t.Errorf("%v", err)
	}
}
