package workload

// The metrics of a density level, which the runner records on the level's
// own sample and capacity and the report read back: declared once here.
const (
	LevelInstances     = "instances"
	LevelMemDrop       = "mem_available_drop"
	LevelMemBefore     = "mem_available_before"
	LevelMemIdleDrop   = "mem_idle_drop"
	LevelPSSTotal      = "pss_total"
	LevelVMMOverhead   = "vmm_overhead"
	LevelGuestRAM      = "guest_ram_touched"
	LevelHostBusy      = "host_busy"
	LevelInstancesCPU  = "instances_cpu"
	LevelForeignCPU    = "foreign_cpu"
	LevelPSICPUSome    = "psi_cpu_some"
	LevelPSIMemoryFull = "psi_memory_full"
	LevelPSIIOSome     = "psi_io_some"
	LevelStartLast     = "start_last"
	LevelKSMSharing    = "ksm_sharing"
)
