package bench

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of the CPU counters in /proc (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// machineBusy returns the CPU time all cores have spent running since
// boot, from the first line of /proc/stat: everything but idle, I/O wait
// and steal (time the hypervisor gave to other machines).
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: cpu: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("bench: cpu: unexpected /proc/stat line %q", line)
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: cpu: /proc/stat: %w", err)
		}
		// Fields: user nice system idle iowait irq softirq steal guest
		// guest_nice. Guest time is already counted in user and nice.
		switch i {
		case 3, 4, 7, 8, 9:
		default:
			busy += n
		}
	}
	return time.Duration(busy) * clockTick, nil
}

// processCPU returns the user plus system CPU time a process has used,
// from /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu: %w", err)
	}
	// The command name (field 2) may hold spaces; fields are counted
	// after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: cpu: unexpected /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: cpu: short /proc/%d/stat", pid)
	}
	var sum int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: cpu: /proc/%d/stat: %w", pid, err)
		}
		sum += n
	}
	return time.Duration(sum) * clockTick, nil
}

// CPUUse is the CPU time spent during one measurement: by the whole
// machine, and by the processes taking part in it. A process that could
// not be read (Redis on another host) counts zero.
type CPUUse struct {
	Machine time.Duration // every core, every process
	Bench   time.Duration // the bench process: the emulator, the direct loop or the in-process worker, the importer
	Worker  time.Duration // the cmd/worker child process
	Redis   time.Duration // redis-server, when it runs on this machine
	// Importer is the enqueue process of the pipeline runs of the sdk,
	// remote and cpu scenarios (zero elsewhere).
	Importer time.Duration
}

// PerFile divides d over files, in milliseconds.
func PerFile(d time.Duration, files int) float64 {
	if files <= 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(files)
}

// stopwatch times one measurement: its wall-clock time and the CPU time
// spent meanwhile.
type stopwatch struct {
	worker, redis int // pids, 0 when unknown
	cpu           CPUUse
	start         time.Time
}

func (w *stopwatch) read() CPUUse {
	var u CPUUse
	u.Machine, _ = machineBusy()
	u.Bench, _ = processCPU(os.Getpid())
	if w.worker > 0 {
		u.Worker, _ = processCPU(w.worker)
	}
	if w.redis > 0 {
		u.Redis, _ = processCPU(w.redis)
	}
	return u
}

// startWatch starts timing; workerPid is the worker process to account
// for (0: none).
func (r *runner) startWatch(workerPid int) *stopwatch {
	w := &stopwatch{worker: workerPid, redis: r.redisPid}
	w.cpu = w.read()
	w.start = time.Now()
	return w
}

// measure ends the timing of files files of size bytes each.
func (w *stopwatch) measure(files int, size int64) Measure {
	elapsed := time.Since(w.start)
	e := w.read()
	return Measure{Files: files, Bytes: size * int64(files), Elapsed: elapsed, CPU: CPUUse{
		Machine: e.Machine - w.cpu.Machine,
		Bench:   e.Bench - w.cpu.Bench,
		Worker:  e.Worker - w.cpu.Worker,
		Redis:   e.Redis - w.cpu.Redis,
	}}
}

// redisLocal reports whether the run's Redis listens on a loopback
// address, so that its process_id names a process on this machine.
func (r *runner) redisLocal() bool {
	u, err := url.Parse(r.cfg.RedisURL)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "":
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// MeasureSHA256 returns the nanoseconds SHA-256 takes per byte on one
// core: the best of three timed passes over 64 MiB (a 4 MiB buffer hashed
// 16 times). It should run while the machine is otherwise idle.
func MeasureSHA256() float64 {
	buf := make([]byte, 4<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	const rounds = 16
	best := time.Duration(0)
	for range 3 {
		h := sha256.New()
		start := time.Now()
		for range rounds {
			h.Write(buf)
		}
		h.Sum(nil)
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	return float64(best) / float64(rounds*len(buf))
}
