package drivertest

// QueueWorker is a FIFO driver.Worker stepped by the test: nothing runs
// until RunOne or RunAll. It is not safe for concurrent use.
type QueueWorker struct {
	jobs []job
}

type job struct{ work, done func() }

// Submit implements driver.Worker.
func (w *QueueWorker) Submit(work, done func()) { w.jobs = append(w.jobs, job{work, done}) }

// Len is the number of queued jobs.
func (w *QueueWorker) Len() int { return len(w.jobs) }

// RunOne runs the oldest job (work, then done) and reports whether there
// was one.
func (w *QueueWorker) RunOne() bool {
	if len(w.jobs) == 0 {
		return false
	}
	j := w.jobs[0]
	w.jobs = w.jobs[1:]
	j.work()
	if j.done != nil {
		j.done()
	}
	return true
}

// RunAll runs jobs, including ones submitted meanwhile, until none is left.
func (w *QueueWorker) RunAll() int {
	n := 0
	for w.RunOne() {
		n++
	}
	return n
}

// Settle runs the workers round-robin until all are empty.
func Settle(ws ...*QueueWorker) {
	for {
		ran := false
		for _, w := range ws {
			ran = w.RunOne() || ran
		}
		if !ran {
			return
		}
	}
}
