package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// hosts makes per-round log ratios: host h's true overhead is over[h],
// with trial noise of the given relative size.
func hosts(over []float64, rounds int, noise float64, seed uint64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float64, len(over))
	for h, o := range over {
		for range rounds {
			out[h] = append(out[h], math.Log1p(o)+noise*r.NormFloat64())
		}
	}
	return out
}

func TestFleetIntervalHoldsTheHostSpread(t *testing.T) {
	// Four hosts at 0, 10, 20 and 30%, little trial noise: the fleet's
	// overhead is about 15%, and its interval is wide because the hosts
	// differ, far wider than the rounds of any one host would make it.
	spread := Fleet(hosts([]float64{0, 0.10, 0.20, 0.30}, 10, 0.005, 1), 0.95)
	if spread.N != 4 || math.Abs(spread.Overhead-0.146) > 0.01 {
		t.Errorf("overhead %+v, want about +14.6%% (the mean of the hosts' log ratios)", spread)
	}
	if !(spread.Lo < 0.06 && spread.Hi > 0.22) {
		t.Errorf("interval [%.3f, %.3f]: should reach well toward the extreme hosts", spread.Lo, spread.Hi)
	}
	// The same fleet with every host at 15%: the interval is the trial
	// noise alone, a fraction of the spread's.
	same := Fleet(hosts([]float64{0.15, 0.15, 0.15, 0.15}, 10, 0.005, 1), 0.95)
	if math.Abs(same.Overhead-0.15) > 0.005 || same.Hi-same.Lo > (spread.Hi-spread.Lo)/5 {
		t.Errorf("no spread: %+v, spread: %+v", same, spread)
	}
	if !(same.Lo < 0.15 && same.Hi > 0.15) {
		t.Errorf("no spread: interval [%.4f, %.4f] misses the true 15%%", same.Lo, same.Hi)
	}
	// More trial noise widens it too.
	noisy := Fleet(hosts([]float64{0.15, 0.15, 0.15, 0.15}, 10, 0.05, 1), 0.95)
	if noisy.Hi-noisy.Lo <= same.Hi-same.Lo {
		t.Errorf("noisier rounds: [%.4f, %.4f] not wider than [%.4f, %.4f]", noisy.Lo, noisy.Hi, same.Lo, same.Hi)
	}
	// A host without rounds does not count; none at all gives nothing.
	if e := Fleet([][]float64{nil, {0.1, 0.1}}, 0.95); e.N != 1 || !math.IsNaN(e.Lo) {
		t.Errorf("one host, two rounds: %+v", e)
	}
	if e := Fleet(nil, 0.95); !math.IsNaN(e.Overhead) {
		t.Errorf("no hosts: %+v", e)
	}
}

// The fleet's interval covers the mean overhead of the hosts the fleet
// stands for at its level, with 2 to 8 hosts that differ by 0–3% (their
// spread's standard deviation), 7 or 14 rounds each and normal or
// heavy-tailed round noise. The coverage table is docs/fleet.md's.
func TestFleetIntervalCovers(t *testing.T) {
	const fleets = 2000
	r := rand.New(rand.NewPCG(30, 4))
	noises := map[string]func() float64{
		"normal": func() float64 { return 0.02 * r.NormFloat64() },
		"t3": func() float64 {
			c := 0.0
			for range 3 {
				x := r.NormFloat64()
				c += x * x
			}
			return 0.02 / math.Sqrt(3) * r.NormFloat64() / math.Sqrt(c/3)
		},
	}
	for _, noise := range []string{"normal", "t3"} {
		for _, rounds := range []int{7, 14} {
			for _, hosts := range []int{2, 3, 4, 8} {
				line := fmt.Sprintf("%s noise, %2d rounds, %d hosts:", noise, rounds, hosts)
				for _, spread := range []float64{0, 0.01, 0.03} {
					covered := 0
					for range fleets {
						logs := make([][]float64, hosts)
						for h := range logs {
							effect := spread * r.NormFloat64()
							for range rounds {
								logs[h] = append(logs[h], math.Log(1.10)+effect+noises[noise]())
							}
						}
						e := Fleet(logs, 0.95)
						if e.Lo <= 0.10 && 0.10 <= e.Hi {
							covered++
						}
					}
					c := float64(covered) / fleets
					line += fmt.Sprintf("  spread %.0f%%: %.1f%%", 100*spread, 100*c)
					if c < 0.93 || c > 0.97 {
						t.Errorf("%s spread %.0f%%: the 95%% interval covers the fleet's overhead in %.1f%% of fleets", line, 100*spread, 100*c)
					}
				}
				t.Log(line)
			}
		}
	}
}

func TestTQuantile(t *testing.T) {
	for _, c := range []struct{ p, df, want float64 }{{0.975, 1, 12.7062}, {0.975, 3, 3.1824}, {0.975, 1000, 1.9623}, {0.995, 7, 3.4995}} {
		if got := TQuantile(c.p, c.df); math.Abs(got-c.want) > 1e-3 {
			t.Errorf("t(%g, %g) = %.4f, want %.4f", c.p, c.df, got, c.want)
		}
	}
}
