package swim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Values from anchors §3.3 (memberlist util.go), LAN settings.
func TestSuspicionTimeout(t *testing.T) {
	tests := []struct {
		name     string
		mult, n  int
		interval time.Duration
		want     time.Duration
	}{
		{"one node", 4, 1, time.Second, 4 * time.Second},
		{"ten nodes", 4, 10, time.Second, 4 * time.Second},
		{"hundred", 4, 100, time.Second, 8 * time.Second},
		{"thousand", 4, 1000, time.Second, 12 * time.Second},
		{"ten thousand", 4, 10000, time.Second, 16 * time.Second},
		{"old mult 5 at 10k", 5, 10000, time.Second, 20 * time.Second},
		{"zero nodes clamps", 4, 0, time.Second, 4 * time.Second},
		{"fractional log (ms truncation as memberlist)", 3, 50, time.Second, 5094 * time.Millisecond},
		{"wan", 6, 10, 5 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suspicionTimeout(tt.mult, tt.n, tt.interval); got != tt.want {
				t.Errorf("suspicionTimeout(%d, %d, %v) = %v, want %v", tt.mult, tt.n, tt.interval, got, tt.want)
			}
		})
	}
}

func TestRetransmitLimit(t *testing.T) {
	tests := []struct{ mult, n, want int }{
		{4, 0, 0}, {4, 1, 4}, {4, 9, 4}, {4, 10, 8}, {4, 99, 8}, {4, 100, 12},
		{4, 1000, 16}, {4, 10000, 20}, {2, 5, 2},
	}
	for _, tt := range tests {
		if got := retransmitLimit(tt.mult, tt.n); got != tt.want {
			t.Errorf("retransmitLimit(%d, %d) = %d, want %d", tt.mult, tt.n, got, tt.want)
		}
	}
}

func TestSuspicionConfirmations(t *testing.T) {
	tests := []struct{ mult, n, want int }{
		{4, 1, 0}, {4, 3, 0}, {4, 4, 2}, {4, 100, 2}, {6, 10, 4}, {6, 5, 0}, {1, 10, 0}, {2, 10, 0},
	}
	for _, tt := range tests {
		if got := suspicionConfirmations(tt.mult, tt.n); got != tt.want {
			t.Errorf("suspicionConfirmations(%d, %d) = %d, want %d", tt.mult, tt.n, got, tt.want)
		}
	}
}

// Cases from memberlist suspicion_test.go TestSuspicion_remainingSuspicionTime.
func TestSuspicionDuration(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name     string
		c, k     int
		min, max time.Duration
		want     time.Duration
	}{
		{"no confirmations", 0, 3, 2 * s, 30 * s, 30 * s},
		{"one of three", 1, 3, 2 * s, 30 * s, 16 * s},
		{"two of three", 2, 3, 2 * s, 30 * s, 7810 * time.Millisecond},
		{"all three", 3, 3, 2 * s, 30 * s, 2 * s},
		{"beyond k clamps", 4, 3, 2 * s, 30 * s, 2 * s},
		{"k zero uses min", 0, 0, 4 * s, 24 * s, 4 * s},
		{"lan two of two", 2, 2, 4 * s, 24 * s, 4 * s},
		{"lan one of two", 1, 2, 4 * s, 24 * s, 11381 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suspicionDuration(tt.c, tt.k, tt.min, tt.max); got != tt.want {
				t.Errorf("suspicionDuration(%d, %d, %v, %v) = %v, want %v", tt.c, tt.k, tt.min, tt.max, got, tt.want)
			}
		})
	}
}

func TestPushPullScale(t *testing.T) {
	const i = 30 * time.Second
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, i}, {32, i}, {33, 2 * i}, {64, 2 * i}, {65, 3 * i}, {128, 3 * i}, {129, 4 * i}, {1024, 6 * i},
	}
	for _, tt := range tests {
		if got := pushPullScale(i, tt.n); got != tt.want {
			t.Errorf("pushPullScale(%v, %d) = %v, want %v", i, tt.n, got, tt.want)
		}
	}
}

func TestSuspicionTimer(t *testing.T) {
	const s = time.Second
	sp := newSuspicion("a", 7, 2, 4*s, 24*s, epoch)
	if want := epoch.Add(24 * s); !sp.deadline.Equal(want) {
		t.Fatalf("initial deadline %v, want %v", sp.deadline, want)
	}
	if sp.maybeConfirm("a") {
		t.Error("the originator counted as a confirmation")
	}
	if !sp.maybeConfirm("b") || sp.maybeConfirm("b") {
		t.Error("b must count exactly once")
	}
	if want := epoch.Add(11381 * time.Millisecond); !sp.deadline.Equal(want) {
		t.Errorf("deadline after one confirmation %v, want %v", sp.deadline, want)
	}
	if !sp.maybeConfirm("c") || sp.maybeConfirm("d") {
		t.Error("c must count, d must not (k reached)")
	}
	if want := epoch.Add(4 * s); !sp.deadline.Equal(want) {
		t.Errorf("deadline after k confirmations %v, want %v", sp.deadline, want)
	}
}

func TestAwareness(t *testing.T) {
	a := awareness{max: 8}
	steps := []struct {
		delta, want int
	}{{1, 1}, {3, 4}, {10, 7}, {-2, 5}, {-10, 0}, {-1, 0}}
	for _, s := range steps {
		a.apply(s.delta)
		if a.score != s.want {
			t.Fatalf("after %+d score %d, want %d", s.delta, a.score, s.want)
		}
	}
	a.apply(7)
	if got := a.scale(time.Second); got != 8*time.Second {
		t.Errorf("scale at max = %v, want 8s (AwarenessMaxMultiplier)", got)
	}
}

func TestConfigPresets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name                         string
		cfg                          Config
		probe, timeout, gossip, push time.Duration
		indirect, suspMult, retrans  int
		gossipNodes                  int
	}{
		{"lan", LANConfig("a", "a:1", r), time.Second, 500 * time.Millisecond, 200 * time.Millisecond, 30 * time.Second, 3, 4, 4, 3},
		{"wan", WANConfig("a", "a:1", r), 5 * time.Second, 3 * time.Second, 500 * time.Millisecond, 60 * time.Second, 3, 6, 4, 4},
		{"local", LocalConfig("a", "a:1", r), time.Second, 200 * time.Millisecond, 100 * time.Millisecond, 15 * time.Second, 1, 3, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			if c.ProbeInterval != tt.probe || c.ProbeTimeout != tt.timeout || c.GossipInterval != tt.gossip ||
				c.PushPullInterval != tt.push || c.IndirectChecks != tt.indirect || c.SuspicionMult != tt.suspMult ||
				c.RetransmitMult != tt.retrans || c.GossipNodes != tt.gossipNodes {
				t.Errorf("preset differs from memberlist: %+v", c)
			}
			if c.SuspicionMaxTimeoutMult != 6 || c.AwarenessMaxMultiplier != 8 || c.PacketSize != 1400 || c.DeadNodeReclaimTime != 30*time.Second {
				t.Errorf("shared values differ: %+v", c)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		break_ func(*Config)
	}{
		{"no name", func(c *Config) { c.Name = "" }},
		{"no addr", func(c *Config) { c.Addr = "" }},
		{"timeout >= interval", func(c *Config) { c.ProbeTimeout = c.ProbeInterval }},
		{"no rand", func(c *Config) { c.Rand = nil }},
		{"small packets", func(c *Config) { c.PacketSize = 512 }},
		{"big tags", func(c *Config) { c.Tags = map[string]string{"k": string(make([]byte, 600))} }},
		{"tag cap too high", func(c *Config) { c.MaxTagsBytes = 4096 }},
		{"zero suspicion mult", func(c *Config) { c.SuspicionMult = 0 }},
		{"zero awareness", func(c *Config) { c.AwarenessMaxMultiplier = 0 }},
		{"negative gossip", func(c *Config) { c.GossipInterval = -1 }},
		{"zero reap", func(c *Config) { c.ReapLeftTimeout = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := LANConfig("a", "a:1", r)
			tt.break_(&c)
			if err := c.validate(); err == nil {
				t.Error("validate accepted a broken config")
			}
			if _, err := New(c, epoch); err == nil {
				t.Error("New accepted a broken config")
			}
		})
	}
}
