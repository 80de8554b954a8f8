package result

// Busy is the CPU pressure (Sample.CPUPressure) from which a host counts as
// loaded by other work: some task waited for a CPU a quarter of the time.
// Trials paired round by round share the load and stay comparable; trials
// of different runs, which met different loads, do not.
const Busy = 0.25

// Pressure is the mean CPU pressure of the measured trials of samples
// that keep returns true for; n is how many had a reading.
func Pressure(samples []Sample, keep func(Sample) bool) (mean float64, n int) {
	var sum float64
	for _, s := range samples {
		if s.CPUPressure == nil || s.Warmup || !keep(s) {
			continue
		}
		sum += *s.CPUPressure
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}
