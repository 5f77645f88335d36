package driver

import "sync"

// GoWorker runs jobs on one goroutine, in order, and posts each done to
// the handler goroutine through post.
type GoWorker struct {
	post func(func())

	mu     sync.Mutex
	queue  []job // guarded by mu
	closed bool  // guarded by mu
	wake   chan struct{}
	exited chan struct{}
}

type job struct{ work, done func() }

// NewGoWorker starts a worker. post must deliver a function to the handler
// goroutine (it may block until the handler takes it).
func NewGoWorker(post func(func())) *GoWorker {
	w := &GoWorker{post: post, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	go w.run()
	return w
}

// Submit queues a job; it never blocks.
func (w *GoWorker) Submit(work, done func()) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.queue = append(w.queue, job{work, done})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Close stops the worker after the job in progress (queued jobs are
// dropped, like a crash would) and waits for it.
func (w *GoWorker) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.exited
}

func (w *GoWorker) run() {
	defer close(w.exited)
	for range w.wake {
		for {
			w.mu.Lock()
			if w.closed {
				w.mu.Unlock()
				return
			}
			if len(w.queue) == 0 {
				w.mu.Unlock()
				break
			}
			j := w.queue[0]
			w.queue[0] = job{}
			w.queue = w.queue[1:]
			w.mu.Unlock()
			j.work()
			if j.done != nil {
				w.post(j.done)
			}
		}
	}
}

// InlineWorker runs work and done at once, inside Submit (tests). The
// handler tolerates the re-entrancy.
type InlineWorker struct{}

// Submit runs the job now.
func (InlineWorker) Submit(work, done func()) {
	work()
	if done != nil {
		done()
	}
}

// submit runs work on w and then, back on the handler goroutine, onDone —
// unless the handler stopped meanwhile. A work error is a storage failure
// and fatal (never retried). Every disk, snapshot and restore job of the
// handler goes through here, so that rule lives in one place.
func (h *Handler) submit(w Worker, work func() error, onDone func()) {
	var err error
	w.Submit(func() { err = work() }, func() {
		h.Batch(func() {
			if h.stopped {
				return
			}
			if err != nil {
				h.fatal(err)
				return
			}
			onDone()
		})
	})
}
