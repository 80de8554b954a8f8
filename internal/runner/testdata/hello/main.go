// Command hello is the user's own program of the app workload's tests,
// built static into an image: it measures SHA-256 throughput and prints it
// as text or JSON, or serves HTTP; or, as a hostile container would, plants
// links in its scratch directory.
package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "serve" {
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello") })
		if err := http.ListenAndServe(":"+os.Args[2], nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if len(os.Args) > 2 && os.Args[1] == "plant" {
		// What a hostile program in a container does to make root on the
		// host write elsewhere: the disk workloads' file, as a link to
		// the host's file named on the command line.
		n := 0
		if dir := os.Getenv("VMBENCH_SCRATCH"); dir != "" {
			if os.Symlink(os.Args[2], filepath.Join(dir, "disk.dat")) == nil {
				n++
			}
		}
		fmt.Printf("planted %d\n", n)
		return
	}
	buf := make([]byte, 64<<10)
	n := 0
	start := time.Now()
	for time.Since(start) < 200*time.Millisecond {
		sha256.Sum256(buf)
		n++
	}
	rate := float64(n*len(buf)) / time.Since(start).Seconds()
	if len(os.Args) > 1 && os.Args[1] == "json" {
		fmt.Printf("{\"hash\": {\"bytes_per_s\": %g, \"blocks\": [%d]}}\n", rate, n)
		return
	}
	fmt.Printf("hello from the image\nhashed %d blocks\nrate=%g B/s\n", n, rate)
}
