package disk

import (
	"context"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/hist"
)

// Linux native AIO (linux/aio_abi.h), which fio's libaio engine drives
// through libaio; the system calls are called directly here.

// iocb is struct iocb on a little-endian 64-bit machine.
type iocb struct {
	data     uint64
	key      uint32
	rwFlags  uint32
	opcode   uint16
	reqprio  int16
	fd       uint32
	buf      uint64
	nbytes   uint64
	offset   int64
	reserved uint64
	flags    uint32
	resfd    uint32
}

// ioEvent is struct io_event.
type ioEvent struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

const (
	cmdPread  = 0
	cmdPwrite = 1
)

// runAIO keeps s.Depth I/Os in flight until the duration has passed, then
// waits for those still in flight, so that none outlives the file.
func (s Spec) runAIO(ctx context.Context, f *os.File, o *offsets, h *hist.Hist) (int64, time.Duration, error) {
	var aioCtx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, uintptr(s.Depth), uintptr(unsafe.Pointer(&aioCtx)), 0); e != 0 {
		return 0, 0, fmt.Errorf("io_setup(%d): %w", s.Depth, e)
	}
	defer unix.Syscall(unix.SYS_IO_DESTROY, aioCtx, 0, 0)

	mem := alignedBuf(int(s.BS) * s.Depth)
	defer unix.Munmap(mem)
	fill(mem)
	cbs := make([]iocb, s.Depth)
	started := make([]time.Time, s.Depth)
	ptrs := make([]*iocb, 1)
	events := make([]ioEvent, s.Depth)
	fd := uint32(f.Fd())

	submit := func(i int) error {
		off, read := o.take()
		cb := &cbs[i]
		*cb = iocb{data: uint64(i), fd: fd, opcode: cmdPwrite, buf: uint64(uintptr(unsafe.Pointer(&mem[int64(i)*s.BS]))), nbytes: uint64(s.BS), offset: off}
		if read {
			cb.opcode = cmdPread
		}
		ptrs[0] = cb
		started[i] = time.Now()
		n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, aioCtx, 1, uintptr(unsafe.Pointer(&ptrs[0])))
		if e != 0 {
			return fmt.Errorf("io_submit: %w", e)
		}
		if n != 1 {
			return fmt.Errorf("io_submit took %d of 1 I/Os", n)
		}
		return nil
	}
	inFlight := 0
	for i := range s.Depth {
		if err := submit(i); err != nil {
			drain(aioCtx, events, inFlight)
			return 0, 0, err
		}
		inFlight++
	}
	start := time.Now()
	end := start.Add(s.Duration)
	var done int64
	var ioErr error
	for inFlight > 0 {
		// Raw, as rawIO: the wait blocks for tens of µs at a time.
		got, _, e := unix.RawSyscall6(unix.SYS_IO_GETEVENTS, aioCtx, 1, uintptr(len(events)), uintptr(unsafe.Pointer(&events[0])), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return done, time.Since(start), fmt.Errorf("io_getevents: %w", e)
		}
		now := time.Now()
		stop := now.After(end) || ctx.Err() != nil || ioErr != nil
		for _, ev := range events[:got] {
			i := int(ev.data)
			inFlight--
			h.Record(int64(now.Sub(started[i])))
			if ev.res != int64(s.BS) && ioErr == nil {
				if ev.res < 0 {
					ioErr = fmt.Errorf("I/O at offset %d: %w", cbs[i].offset, unix.Errno(-ev.res))
				} else {
					ioErr = fmt.Errorf("I/O at offset %d: short, %d of %d bytes", cbs[i].offset, ev.res, s.BS)
				}
			}
			done++
			if !stop {
				if err := submit(i); err != nil {
					ioErr = err
					continue
				}
				inFlight++
			}
		}
	}
	return done, time.Since(start), ioErr
}

// drain waits for n I/Os in flight to complete.
func drain(aioCtx uintptr, events []ioEvent, n int) {
	for n > 0 {
		got, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, aioCtx, 1, uintptr(len(events)), uintptr(unsafe.Pointer(&events[0])), 0, 0)
		if e != 0 && e != unix.EINTR {
			return
		}
		n -= int(got)
	}
}
