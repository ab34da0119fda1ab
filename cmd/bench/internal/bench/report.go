package bench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/worker"
)

// Goals the report checks.
const (
	// GoalRatio is the share of the direct loop's throughput the pipeline
	// should reach.
	GoalRatio = 0.8
	// GoalPeakRSS is the worker's peak RSS limit (bytes) at the highest
	// concurrency with the largest files: 100 MB, in millions of bytes
	// like every MB the bench prints.
	GoalPeakRSS = 100_000_000
)

// Measure is one timed run over a number of files.
type Measure struct {
	Files   int
	Bytes   int64
	Elapsed time.Duration
	CPU     CPUUse // CPU time spent while it ran
}

// FilesPerSec is the throughput in files per second.
func (m Measure) FilesPerSec() float64 {
	if m.Elapsed <= 0 {
		return 0
	}
	return float64(m.Files) / m.Elapsed.Seconds()
}

// MBPerSec is the throughput in megabytes (10^6 bytes) per second.
func (m Measure) MBPerSec() float64 {
	if m.Elapsed <= 0 {
		return 0
	}
	return float64(m.Bytes) / 1e6 / m.Elapsed.Seconds()
}

// Cell is one size at one concurrency.
type Cell struct {
	Size        int64
	Concurrency int
	Files       int
	// Direct is the upload loop without a queue. Noop is asynq with a
	// handler that does nothing (at least 2000 tasks). Worker is the
	// cmd/worker process draining a queue the importer filled beforehand.
	// EndToEnd is the importer and the worker running at once, timed from
	// the import's start. InProcess is the same worker code (worker.New
	// and Run) inside the bench process, draining a queue filled
	// beforehand: the worker's cost without a process of its own.
	Direct, Noop, Worker, EndToEnd, InProcess Measure
	// WorkerPeakRSS is the worker process's VmHWM in bytes after the
	// pipeline run.
	WorkerPeakRSS int64
	// Rounds is how many rounds [MedianCell] combined (0: one run).
	Rounds int
}

// MedianCell combines rounds of one cell: each column is its median
// round by throughput (the lower middle one for an even count), with that
// round's CPU time, and the peak RSS is the highest seen. Files, Size and
// Concurrency come from the first round.
func MedianCell(rounds []Cell) Cell {
	if len(rounds) == 0 {
		return Cell{}
	}
	out := rounds[0]
	pick := func(get func(Cell) Measure) Measure {
		ms := make([]Measure, len(rounds))
		for i, c := range rounds {
			ms[i] = get(c)
		}
		slices.SortStableFunc(ms, func(a, b Measure) int { return cmp.Compare(a.FilesPerSec(), b.FilesPerSec()) })
		return ms[(len(ms)-1)/2]
	}
	out.Direct = pick(func(c Cell) Measure { return c.Direct })
	out.Noop = pick(func(c Cell) Measure { return c.Noop })
	out.Worker = pick(func(c Cell) Measure { return c.Worker })
	out.EndToEnd = pick(func(c Cell) Measure { return c.EndToEnd })
	out.InProcess = pick(func(c Cell) Measure { return c.InProcess })
	for _, c := range rounds {
		out.WorkerPeakRSS = max(out.WorkerPeakRSS, c.WorkerPeakRSS)
	}
	out.Rounds = len(rounds)
	return out
}

// Ratio is the worker's throughput over the direct loop's.
func (c Cell) Ratio() float64 { return ratio(c.Worker, c.Direct) }

// InProcessRatio is the in-process worker's throughput over the direct
// loop's.
func (c Cell) InProcessRatio() float64 { return ratio(c.InProcess, c.Direct) }

// EndToEndRatio is the end-to-end throughput over the direct loop's.
func (c Cell) EndToEndRatio() float64 { return ratio(c.EndToEnd, c.Direct) }

func ratio(a, b Measure) float64 {
	if b.FilesPerSec() == 0 {
		return 0
	}
	return a.FilesPerSec() / b.FilesPerSec()
}

// CPUPerFile is the CPU time of all cores per file, in milliseconds.
func (m Measure) CPUPerFile() float64 { return PerFile(m.CPU.Machine, m.Files) }

// Busy is how many cores were busy on average while m ran.
func (m Measure) Busy() float64 {
	if m.Elapsed <= 0 {
		return 0
	}
	return float64(m.CPU.Machine) / float64(m.Elapsed)
}

// cpuBoundShare is the share of all cores the direct loop must keep busy
// for a cell to count as CPU-bound.
const cpuBoundShare = 0.9

// CPUBound reports whether the direct loop kept nearly every one of cpus
// cores busy: then throughput is set by CPU time per file.
func (c Cell) CPUBound(cpus int) bool {
	return cpus > 0 && c.Direct.Busy() >= cpuBoundShare*float64(cpus)
}

// Ceiling is the highest pipeline/direct ratio a CPU-bound cell can reach
// when the pipeline does nothing beyond the direct loop's work but
// more SHA-256 passes over each file (sha is SHA-256's CPU time in
// nanoseconds per byte): the worker makes one (it checks the file is the one queued),
// end to end makes two (the importer hashes each file to queue it).
func (c Cell) Ceiling(passes int, sha float64) float64 {
	direct := c.Direct.CPUPerFile()
	if direct <= 0 {
		return 0
	}
	extra := float64(passes) * float64(c.Size) * sha / 1e6
	return direct / (direct + extra)
}

// EnqueueResult is the enqueue-rate part: the same files queued three ways.
type EnqueueResult struct {
	Files int
	// Importer is importer.Run (concurrent check, hash and enqueue);
	// ClientLoop is a loop of tasks.Client.Enqueue (check, hash, enqueue,
	// one file at a time); AsynqLoop is a loop of asynq.Client.Enqueue of
	// payloads computed beforehand (the queue alone).
	Importer, ClientLoop, AsynqLoop time.Duration
}

func (e EnqueueResult) rate(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(e.Files) / d.Seconds()
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int
	CPUModel  string
	GoVersion string
	OS, Arch  string
	Redis     string
	Date      time.Time
	// SHA256 is the CPU time in nanoseconds SHA-256 takes per byte on
	// one core, measured in the run (see [MeasureSHA256]).
	SHA256 float64
}

// Report is the outcome of [Run].
type Report struct {
	Machine Machine
	// Scenarios are the scenarios run; the figures of the others are
	// zero.
	Scenarios []string
	Latency   *LatencyResult
	SDK       *SDKResult
	Remote    *RemoteResult
	CPU       *CPUResult
	Convert   *ConvertResult
	Cells     []Cell
	Enqueue   EnqueueResult
	Elapsed   time.Duration
}

// ran reports whether the report holds scenario; a report without
// Scenarios holds those it has figures for.
func (r *Report) ran(scenario string) bool {
	if r.Scenarios == nil {
		switch scenario {
		case ScenarioLatency:
			return r.Latency != nil
		case ScenarioSDK:
			return r.SDK != nil
		case ScenarioRemote:
			return r.Remote != nil
		case ScenarioCPU:
			return r.CPU != nil
		case ScenarioConvert:
			return r.Convert != nil
		}
		return true
	}
	return slices.Contains(r.Scenarios, scenario)
}

func sizeLabel(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%d MB", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%d kB", n/1000)
	}
	return fmt.Sprintf("%d B", n)
}

// mb prints a byte count in MB of 10^6 bytes, the unit of every memory
// figure and memory goal in the bench's tables.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// mbMiB prints a byte count in MB and, for comparison with tools that
// count in binary units, in MiB.
func mbMiB(n int64) string { return fmt.Sprintf("%s (%.1f MiB)", mb(n), float64(n)/(1<<20)) }

func (m Machine) String() string {
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU"
	}
	return fmt.Sprintf("%d cores (%s), %s %s/%s, Redis %s, %s", m.CPUs, model, m.GoVersion, m.OS, m.Arch, m.Redis, m.Date.Format("2006-01-02 15:04 MST"))
}

// verdicts returns the goal lines.
func (r *Report) verdicts() []string {
	var out []string
	for _, k := range []struct {
		name string
		f    func(Cell) float64
	}{
		{"worker (queue filled beforehand)", Cell.Ratio},
		{"end to end (import and upload at once)", Cell.EndToEndRatio},
		{"for comparison, not a goal: the worker code in the bench process", Cell.InProcessRatio},
	} {
		met, lowest, highest := 0, 0.0, 0.0
		for i, c := range r.Cells {
			v := k.f(c)
			if v >= GoalRatio {
				met++
			}
			if i == 0 || v < lowest {
				lowest = v
			}
			if i == 0 || v > highest {
				highest = v
			}
		}
		if len(r.Cells) > 0 {
			out = append(out, fmt.Sprintf("%s >= %.1fx of the direct loop: met in %d of %d cells (%.2fx to %.2fx)", k.name, GoalRatio, met, len(r.Cells), lowest, highest))
		}
	}
	for _, k := range []struct {
		name   string
		passes int
	}{{"worker", 1}, {"end to end", 2}} {
		capped, bound := 0, 0
		lo, hi := 0.0, 0.0
		for _, c := range r.Cells {
			v, ok := r.ceiling(c, k.passes)
			if !ok {
				continue
			}
			if bound == 0 || v < lo {
				lo = v
			}
			if bound == 0 || v > hi {
				hi = v
			}
			bound++
			if v < GoalRatio {
				capped++
			}
		}
		if bound > 0 {
			out = append(out, fmt.Sprintf("%s: %d of %d CPU-bound cells have a SHA-256 ceiling below %.1fx (ceilings %.2fx to %.2fx)", k.name, capped, bound, GoalRatio, lo, hi))
		}
	}
	if c, ok := r.rssCell(); ok {
		state := "met"
		if c.WorkerPeakRSS >= GoalPeakRSS {
			state = "MISSED"
		}
		out = append(out, fmt.Sprintf("worker peak RSS < %s with %s files at concurrency %d: %s (%s)", mb(GoalPeakRSS), sizeLabel(c.Size), c.Concurrency, mb(c.WorkerPeakRSS), state))
	}
	return out
}

// ceiling is c's SHA-256 ceiling with passes passes ([Cell.Ceiling]); ok
// is false when c is not CPU-bound or the run has no SHA-256 cost.
func (r *Report) ceiling(c Cell, passes int) (v float64, ok bool) {
	if !c.CPUBound(r.Machine.CPUs) || r.Machine.SHA256 <= 0 {
		return 0, false
	}
	return c.Ceiling(passes, r.Machine.SHA256), true
}

// rssCell is the cell the RSS goal applies to: the largest size at the
// highest concurrency.
func (r *Report) rssCell() (Cell, bool) {
	var best Cell
	found := false
	for _, c := range r.Cells {
		if !found || c.Size > best.Size || (c.Size == best.Size && c.Concurrency > best.Concurrency) {
			best, found = c, true
		}
	}
	return best, found
}

// WriteText prints the report as aligned plain-text tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s\n", r.Machine)
	if r.ran(ScenarioLatency) && r.Latency != nil {
		fmt.Fprintf(&b, "\n%s\n", r.Latency.intro())
		header, rows := r.Latency.table()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n%s\n", idleIntro)
		header, rows = r.Latency.idleTable()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
	}
	if r.ran(ScenarioSDK) && r.SDK != nil {
		fmt.Fprintf(&b, "\nAgainst the official SDK: %s\n", sdkIntro)
		header, rows := r.SDK.table()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
	}
	if r.ran(ScenarioRemote) && r.Remote != nil {
		fmt.Fprintf(&b, "\nA remote gateway: %s\n", r.Remote.intro())
		header, rows := r.Remote.table()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
	}
	if r.ran(ScenarioCPU) && r.CPU != nil {
		fmt.Fprintf(&b, "\nCPU per file: %s\n", r.CPU.intro())
		header, rows := r.CPU.table()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
	}
	if r.ran(ScenarioConvert) && r.Convert != nil {
		fmt.Fprintf(&b, "\nConversion: %s\n", r.Convert.intro())
		if r.Convert.Unavailable == "" {
			header, rows := r.Convert.table()
			if err := textTable(&b, header, rows); err != nil {
				return err
			}
		}
	}
	if r.ran(ScenarioThroughput) {
		fmt.Fprintf(&b, "\nThroughput against one emulator (f/s = files/s, MB = 10^6 bytes; ratio = over direct; %s):\n", r.roundsNote())
		b.WriteString("  direct = upload.Client loop, no queue; no-op = asynq, empty handler; worker = cmd/worker draining\n")
		b.WriteString("  a queue filled beforehand; e2e = importer and worker at once, timed from the import's start;\n")
		b.WriteString("  in-proc = the same worker code in the bench process, queue filled beforehand\n")
		header := []string{"size", "conc", "files", "direct f/s", "MB/s", "no-op f/s", "worker f/s", "MB/s", "ratio",
			"e2e f/s", "MB/s", "ratio", "in-proc f/s", "ratio", "worker RSS"}
		if err := textTable(&b, header, r.throughputRows()); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n%s\n", r.cpuIntro())
		header, rows := r.cpuTable()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
	}
	if r.ran(ScenarioEnqueue) {
		fmt.Fprintf(&b, "\nEnqueue rate, %d files of 4 kB:\n", r.Enqueue.Files)
		header, rows := r.Enqueue.table()
		if err := textTable(&b, header, rows); err != nil {
			return err
		}
	}
	b.WriteString("\nGoals:\n")
	for _, v := range slices.Concat(r.Latency.verdicts(), r.SDK.verdicts(), r.Remote.verdicts(), r.CPU.verdicts(), r.Convert.verdicts(), r.verdicts()) {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	fmt.Fprintf(&b, "\nTotal run time: %v\n", r.Elapsed.Round(time.Second))
	_, err := io.WriteString(w, b.String())
	return err
}

// roundsNote says how many rounds each figure is the median of.
func (r *Report) roundsNote() string {
	n := 1
	if len(r.Cells) > 0 && r.Cells[0].Rounds > 1 {
		n = r.Cells[0].Rounds
	}
	if n == 1 {
		return "one round per cell"
	}
	return fmt.Sprintf("median of %d rounds per cell", n)
}

// throughputRows are the rows of the throughput table, one per cell; each
// renderer has a header of its own.
func (r *Report) throughputRows() [][]string {
	var rows [][]string
	for _, c := range r.Cells {
		rows = append(rows, []string{sizeLabel(c.Size), fmt.Sprint(c.Concurrency), fmt.Sprint(c.Files),
			fmt.Sprintf("%.1f", c.Direct.FilesPerSec()), fmt.Sprintf("%.1f", c.Direct.MBPerSec()), fmt.Sprintf("%.0f", c.Noop.FilesPerSec()),
			fmt.Sprintf("%.1f", c.Worker.FilesPerSec()), fmt.Sprintf("%.1f", c.Worker.MBPerSec()), fmt.Sprintf("%.2fx", c.Ratio()),
			fmt.Sprintf("%.1f", c.EndToEnd.FilesPerSec()), fmt.Sprintf("%.1f", c.EndToEnd.MBPerSec()), fmt.Sprintf("%.2fx", c.EndToEndRatio()),
			fmt.Sprintf("%.1f", c.InProcess.FilesPerSec()), fmt.Sprintf("%.2fx", c.InProcessRatio()), mb(c.WorkerPeakRSS)})
	}
	return rows
}

// cpuTable is the CPU-per-file table: a header and one row per cell.
func (r *Report) cpuTable() (header []string, rows [][]string) {
	header = []string{"size", "conc", "direct ms/file", "direct cores busy",
		"worker ms/file", "= emulator + worker + Redis", "e2e ms/file", "in-process ms/file", "worker ceiling", "e2e ceiling"}
	for _, c := range r.Cells {
		ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", PerFile(d, c.Files)) }
		w := c.Worker.CPU
		ceil := func(passes int) string {
			v, ok := r.ceiling(c, passes)
			if !ok {
				return "not CPU-bound"
			}
			return fmt.Sprintf("%.2fx", v)
		}
		rows = append(rows, []string{sizeLabel(c.Size), fmt.Sprint(c.Concurrency),
			fmt.Sprintf("%.2f", c.Direct.CPUPerFile()), fmt.Sprintf("%.2f of %d", c.Direct.Busy(), r.Machine.CPUs),
			fmt.Sprintf("%.2f", c.Worker.CPUPerFile()), ms(w.Bench) + " + " + ms(w.Worker) + " + " + ms(w.Redis),
			fmt.Sprintf("%.2f", c.EndToEnd.CPUPerFile()), fmt.Sprintf("%.2f", c.InProcess.CPUPerFile()), ceil(1), ceil(2)})
	}
	return header, rows
}

// cpuIntro explains the CPU table.
func (r *Report) cpuIntro() string {
	return fmt.Sprintf("CPU time of all cores per file (ms), read from /proc while each run lasted; the "+
		"emulator runs in the bench process. Ceiling: the best ratio a CPU-bound cell allows when the "+
		"pipeline adds nothing but the SHA-256 passes it must make (worker 1: it checks that the file "+
		"is the one queued; e2e 2: the importer hashes it too), at %.2f ns/byte measured in this run. "+
		"A cell counts as CPU-bound when the direct loop keeps at least %.0f%% of the cores busy.",
		r.Machine.SHA256, cpuBoundShare*100)
}

// table is the enqueue-rate table: a header and one row per method.
func (e EnqueueResult) table() (header []string, rows [][]string) {
	header = []string{"method", "files/s", "vs importer"}
	for _, m := range []struct {
		name string
		d    time.Duration
	}{
		{"bulk importer (importer.Run)", e.Importer},
		{"tasks.Client.Enqueue loop", e.ClientLoop},
		{"asynq.Client.Enqueue loop, payloads precomputed", e.AsynqLoop},
	} {
		rows = append(rows, []string{m.name, fmt.Sprintf("%.0f", e.rate(m.d)), fmt.Sprintf("%.2fx", e.rate(m.d)/e.rate(e.Importer))})
	}
	return header, rows
}

// textTable writes a table as right-aligned plain-text columns.
func textTable(b *strings.Builder, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(b, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

// markdownSection writes a scenario's last table, then its goal lines.
func markdownSection(b *strings.Builder, header []string, left int, rows [][]string, verdicts []string) {
	markdownTable(b, header, left, rows)
	b.WriteString("\n")
	markdownList(b, verdicts)
}

// markdownList writes lines as a Markdown bullet list.
func markdownList(b *strings.Builder, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", l)
	}
}

// markdownTable writes a Markdown table whose first left columns are
// left-aligned and the others right-aligned.
func markdownTable(b *strings.Builder, header []string, left int, rows [][]string) {
	fmt.Fprintf(b, "| %s |\n|", strings.Join(header, " | "))
	for i := range header {
		if i < left {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
}

// WriteMarkdown writes the report as the results part of BENCHMARKS.md:
// one block per scenario run, each between [blockStart] and [blockEnd]
// comments and naming its own machine and command, so that [UpdateFile]
// can keep the blocks of scenarios a run left out.
func (r *Report) WriteMarkdown(w io.Writer, command string) error {
	var b strings.Builder
	b.WriteString("## Latest run\n")
	for _, sc := range AllScenarios {
		if r.ran(sc) {
			b.WriteString("\n" + r.markdownBlock(sc, command))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// blockStart and blockEnd delimit the block of a scenario.
func blockStart(scenario string) string { return "<!-- bench: " + scenario + " -->" }
func blockEnd(scenario string) string   { return "<!-- end of bench: " + scenario + " -->" }

// markdownBlock is the Markdown of one scenario, delimited.
func (r *Report) markdownBlock(scenario, command string) string {
	var b strings.Builder
	b.WriteString(blockStart(scenario) + "\n\n")
	run := fmt.Sprintf("*Machine: %s. Command: `%s` (total run time %v).*\n\n", r.Machine, command, r.Elapsed.Round(time.Second))
	switch scenario {
	case ScenarioLatency:
		l := r.Latency
		fmt.Fprintf(&b, "### Latency: enqueue to completed, idle worker (the headline)\n\n%s%s\n\n", run, l.intro())
		header, rows := l.table()
		markdownTable(&b, header, 2, rows)
		fmt.Fprintf(&b, "\n%s\n\n", idleIntro)
		header, rows = l.idleTable()
		markdownSection(&b, header, 1, rows, l.verdicts())
	case ScenarioSDK:
		fmt.Fprintf(&b, "### Against the official SDK\n\n%s%s\n\n", run, sdkIntro)
		header, rows := r.SDK.table()
		markdownSection(&b, header, 0, rows, r.SDK.verdicts())
	case ScenarioRemote:
		fmt.Fprintf(&b, "### A remote gateway\n\n%s%s\n\n", run, r.Remote.intro())
		header, rows := r.Remote.table()
		markdownSection(&b, header, 0, rows, r.Remote.verdicts())
	case ScenarioCPU:
		fmt.Fprintf(&b, "### CPU per file, per process\n\n%s%s\n\n", run, r.CPU.intro())
		header, rows := r.CPU.table()
		markdownSection(&b, header, 1, rows, r.CPU.verdicts())
	case ScenarioConvert:
		fmt.Fprintf(&b, "### Converting phone photos (issue 18)\n\n%s%s\n\n", run, r.Convert.intro())
		if r.Convert.Unavailable == "" {
			header, rows := r.Convert.table()
			markdownTable(&b, header, 4, rows)
			b.WriteString("\n")
		}
		markdownList(&b, r.Convert.verdicts())
	case ScenarioThroughput:
		b.WriteString("### Throughput\n\n" + run)
		fmt.Fprintf(&b, "Figures: %s. ", r.roundsNote())
		b.WriteString("*direct*: upload.Client loop, no queue; *no-op*: asynq with an empty handler; *worker*: cmd/worker draining a queue the importer filled beforehand; *e2e*: importer and worker at once, timed from the import's start; *in-process*: the same worker code (worker.New and Run) inside the bench process, draining a queue filled beforehand (for comparison; the goals are judged on the worker and e2e columns). MB = 10^6 bytes.\n\n")
		header := []string{"size", "conc.", "files", "direct files/s", "direct MB/s", "asynq no-op files/s",
			"worker files/s", "worker MB/s", "worker / direct", "e2e files/s", "e2e MB/s", "e2e / direct",
			"in-process files/s", "in-process / direct", "worker peak RSS"}
		markdownTable(&b, header, 0, r.throughputRows())
		fmt.Fprintf(&b, "\n### CPU per file\n\n%s\n\n", r.cpuIntro())
		header, rows := r.cpuTable()
		markdownTable(&b, header, 0, rows)
		b.WriteString("\n### Throughput goals\n\n")
		markdownList(&b, r.verdicts())
	case ScenarioEnqueue:
		fmt.Fprintf(&b, "### Enqueue rate (%d files of 4 kB)\n\n%s", r.Enqueue.Files, run)
		header, rows := r.Enqueue.table()
		markdownTable(&b, header, 1, rows)
	}
	b.WriteString("\n" + blockEnd(scenario) + "\n")
	return b.String()
}

// Marker separates the hand-written part of BENCHMARKS.md from the latest
// run, which [UpdateFile] replaces.
const Marker = "<!-- The bench command replaces everything below this line. -->"

// UpdateFile writes the report into the Markdown file at path: the text
// before [Marker] is kept (intro is used when the file or the marker is
// missing), the rest is replaced by [Report.WriteMarkdown], except that the
// block of a scenario the run left out is kept from the file as it was,
// and so is the convert block when conversion was unavailable.
func UpdateFile(path string, r *Report, command, intro string, read func(string) ([]byte, error), write func(string, []byte) error) error {
	head := strings.TrimRight(intro, "\n") + "\n\n"
	var tail string
	if old, err := read(path); err == nil {
		if i := strings.Index(string(old), Marker); i >= 0 {
			head, tail = string(old[:i]), string(old[i:])
		}
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(Marker + "\n\n## Latest run\n")
	for _, sc := range AllScenarios {
		block := ""
		if r.ran(sc) && !(sc == ScenarioConvert && r.Convert != nil && r.Convert.Unavailable != "") {
			block = r.markdownBlock(sc, command)
		} else if i := strings.Index(tail, blockStart(sc)); i >= 0 {
			if j := strings.Index(tail[i:], blockEnd(sc)); j >= 0 {
				block = tail[i:i+j+len(blockEnd(sc))] + "\n"
			}
		}
		if block != "" {
			b.WriteString("\n" + block)
		}
	}
	if err := write(path, []byte(b.String())); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// intro explains the latency table.
func (l *LatencyResult) intro() string {
	return fmt.Sprintf("%d jobs one after the other per path, each a distinct %s JPEG, on a cmd/worker child "+
		"process left idle; the time from the start of the enqueue to the completed task as its waiter "+
		"learns it. *default*: the worker's defaults (notices of ended attempts on Redis, %v empty-queue "+
		"check) and the waiters' (woken by notices, polling every %v as a fallback); *baseline*, measured in "+
		"the same run: asynq's %v check, no notices, waiters polling every %v (the behaviour before). The "+
		"enqueue --wait row includes starting the process; the HTTP API is the one `enqueue serve` runs, "+
		"on loopback. Ratio: the default's figure over the baseline's.",
		l.Jobs, sizeLabel(l.Size), worker.DefaultTaskCheckInterval, tasks.DefaultPollInterval, baselineCheck, baselinePoll)
}

// idleIntro explains the idle-cost table.
const idleIntro = "Idle cost of one worker process with nothing to do, per second over the idle window, " +
	"by empty-queue check interval (`WORKER_TASK_CHECK_INTERVAL`): Redis commands " +
	"(`total_commands_processed`, on the bench's private Redis), and CPU time of the worker " +
	"and of `redis-server` (from `/proc/<pid>/stat`, 10 ms ticks)."

// table is the latency table: a header and one row per setup and path.
func (l *LatencyResult) table() (header []string, rows [][]string) {
	header = []string{"setup", "path", "p50 ms", "p99 ms", "max ms", "p50 ratio", "p99 ratio"}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	half := len(l.Rows) / 2
	for i, row := range l.Rows {
		r50, r99 := "", ""
		if i < half && l.Rows[i+half].P50 > 0 && l.Rows[i+half].P99 > 0 {
			base := l.Rows[i+half]
			r50 = fmt.Sprintf("%.2fx", float64(row.P50)/float64(base.P50))
			r99 = fmt.Sprintf("%.2fx", float64(row.P99)/float64(base.P99))
		}
		rows = append(rows, []string{row.Setup, row.Path, ms(row.P50), ms(row.P99), ms(row.Max), r50, r99})
	}
	return header, rows
}

// idleTable is the idle-cost table, one row per check interval.
func (l *LatencyResult) idleTable() (header []string, rows [][]string) {
	header = []string{"empty-queue check", "Redis commands/s", "worker CPU ms/s", "redis-server CPU ms/s"}
	for _, c := range l.Idle {
		rows = append(rows, []string{c.CheckInterval.String(), fmt.Sprintf("%.1f", c.Commands),
			fmt.Sprintf("%.1f", c.WorkerCPU), fmt.Sprintf("%.1f", c.RedisCPU)})
	}
	return header, rows
}

// verdicts are the latency goal lines, for the default setup's rows; none
// when the scenario did not run.
func (l *LatencyResult) verdicts() []string {
	if l == nil {
		return nil
	}
	var out []string
	for _, row := range l.Rows[:len(l.Rows)/2] {
		state := "met"
		if row.P50 > GoalLatencyP50 || row.P99 > GoalLatencyP99 {
			state = "MISSED"
		}
		out = append(out, fmt.Sprintf("latency, %s: p50 %v (goal <= %v), p99 %v (goal <= %v): %s",
			row.Path, row.P50.Round(100*time.Microsecond), GoalLatencyP50, row.P99.Round(100*time.Microsecond), GoalLatencyP99, state))
	}
	return out
}
