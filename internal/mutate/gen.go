//go:build ignore

// gen writes single-point mutants of Go source files, for
// jepsen/mutants/run.sh (raft/, raft/driver/, wal/) and
// swim/mutants/run.sh (swim/).
//
//	go run internal/mutate/gen.go -out DIR [-n N] [-seed S] [-rules raft|swim]
//	    [-sampler keys|draw] [-format files|patch] [-list] file.go[=weight]...
//
// Each candidate mutation changes one token range of one file: a relational
// operator swapped (< <=, > >=, == !=), a "+ 1" or "- 1" dropped, && and ||
// swapped, an if-condition negated, an assignment, increment or call
// statement deleted, a "return true/false" flipped. Code whose mutants say
// nothing about the simulator (String methods, logging, invariant checks)
// is left alone; what that is differs per code base, so -rules names one of
// two rule sets (see rulesets). N candidates are sampled without
// replacement, each file's candidates drawn with its weight (default 1),
// from a PCG seeded with S, so a seed names the same sample on every
// machine. Two samplers, so that each script's seeds keep naming the
// samples its results were recorded for: keys (Efraimidis-Spirakis keys,
// any positive weight) and draw (a running draw, whole weights).
//
// -format files writes one mutated copy of the file per mutant
// (DIR/NNNN.go, for go build -overlay) and DIR/index.tsv with id, file,
// line, kind and the change as whole lines. -format patch writes
// DIR/NNN.patch (patch -p1 from the repository root) whose first line,
// "# FILE:LINE KIND: OLD => NEW", says what changed. Whether a mutant
// compiles is the caller's business. -list prints every candidate and
// writes nothing.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type mutant struct {
	file       string
	line       int // of the mutated token (the operator for a dropped +1)
	kind       string
	start, end int // byte range of the file replaced
	repl       string
	weight     float64
}

// rules say which code a rule set mutates and how the kinds are named.
type rules struct {
	skipFuncs map[string]bool // functions left alone whole
	// skipChecks leaves invariant checks alone (the condition and body of
	// an if whose body panics; the if itself can still be negated) and
	// "err != nil"/"err == nil" (flipped, every run fails at once).
	skipChecks bool
	// inLists deletes only statements of a block or case body; otherwise
	// any assignment, increment or call statement, for-loop posts included.
	inLists    bool
	quietCall  func(*ast.CallExpr) bool // a call statement not deleted
	quietText  func(stmt string) bool   // a statement (by its text) not deleted
	singleFlip bool                     // flip only "return true/false", not "return x, true"
	sorted     bool                     // candidates in file order, not ast.Inspect order
	kinds      map[string]string        // kind -> its name in the output
}

// rulesets: raft was written for raft/, raft/driver/ and wal/, where n.log
// is the Raft log, so logging is recognised by the called name; swim for
// swim/, where n.log is the logger and Stats counters are not behaviour.
// Each is exactly the rules of the generator its script had before the two
// were merged, so the samples in jepsen/mutants/RESULTS.md and
// swim/mutants/README.md are reproduced byte for byte.
var rulesets = map[string]rules{
	"raft": {
		skipFuncs:  set("String", "debug", "GoString"),
		skipChecks: true,
		quietCall:  isLogging,
		quietText:  func(string) bool { return false },
	},
	"swim": {
		skipFuncs: set("String", "validate"),
		inLists:   true,
		quietCall: func(*ast.CallExpr) bool { return false },
		quietText: func(s string) bool {
			return strings.Contains(s, ".stats.") || strings.HasPrefix(s, "n.log.") || strings.HasPrefix(s, "panic(")
		},
		singleFlip: true,
		sorted:     true,
		kinds: map[string]string{
			"relop": "relational", "logic": "logical", "drop+1": "drop-one", "drop-1": "drop-one",
			"del-assign": "delete-stmt", "del-incdec": "delete-stmt", "del-call": "delete-stmt",
		},
	},
}

func main() {
	out := flag.String("out", "", "output directory")
	n := flag.Int("n", 80, "mutants to sample (0: all)")
	seed := flag.Uint64("seed", 1, "sampling seed")
	ruleName := flag.String("rules", "raft", "rule set: raft or swim")
	sampler := flag.String("sampler", "keys", "keys (any weights) or draw (whole weights)")
	format := flag.String("format", "files", "files (NNNN.go and index.tsv) or patch (NNN.patch)")
	list := flag.Bool("list", false, "print every candidate and exit")
	flag.Parse()
	r, ok := rulesets[*ruleName]
	if (*out == "" && !*list) || flag.NArg() == 0 || !ok ||
		(*sampler != "keys" && *sampler != "draw") || (*format != "files" && *format != "patch") {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-n N] [-seed S] [-rules raft|swim] [-sampler keys|draw] [-format files|patch] [-list] file.go[=weight]...")
		os.Exit(2)
	}
	var all []mutant
	srcs := map[string][]byte{}
	for _, arg := range flag.Args() {
		file, w := arg, 1.0
		if i := strings.LastIndex(arg, "="); i >= 0 {
			file = arg[:i]
			v, err := strconv.ParseFloat(arg[i+1:], 64)
			if err != nil || (*sampler == "draw" && (v < 1 || v != math.Trunc(v))) {
				fmt.Fprintln(os.Stderr, "gen: bad weight:", arg)
				os.Exit(2)
			}
			w = v
		}
		src, err := os.ReadFile(file)
		check(err)
		srcs[file] = src
		ms, err := candidates(file, src, r)
		check(err)
		for i := range ms {
			ms[i].weight = w
		}
		all = append(all, ms...)
	}
	describe := func(m mutant) string { return describeLines(m, srcs[m.file]) }
	if *format == "patch" {
		describe = func(m mutant) string { return describeTokens(m, srcs[m.file]) }
	}
	if *list {
		for i, m := range all {
			fmt.Printf("%d %s\n", i, describe(m))
		}
		return
	}
	var picked []mutant
	if *sampler == "keys" {
		picked = sampleKeys(all, *n, *seed)
	} else {
		picked = sampleDraw(all, *n, *seed)
	}
	check(os.MkdirAll(*out, 0o755))
	var index bytes.Buffer
	for i, m := range picked {
		src := srcs[m.file]
		mut := append(append(append([]byte{}, src[:m.start]...), m.repl...), src[m.end:]...)
		if *format == "patch" {
			p := append([]byte("# "+describe(m)+"\n"), unifiedDiff(m.file, src, mut)...)
			check(os.WriteFile(filepath.Join(*out, fmt.Sprintf("%03d.patch", i+1)), p, 0o644))
			continue
		}
		id := fmt.Sprintf("%04d", i+1)
		check(os.WriteFile(filepath.Join(*out, id+".go"), mut, 0o644))
		fmt.Fprintf(&index, "%s\t%s\n", id, describe(m))
	}
	if *format == "files" {
		check(os.WriteFile(filepath.Join(*out, "index.tsv"), index.Bytes(), 0o644))
	}
	fmt.Fprintf(os.Stderr, "gen: %d candidates, %d sampled\n", len(all), len(picked))
}

// sampleKeys draws n mutants without replacement, each with probability
// proportional to its weight (Efraimidis-Spirakis keys), in a stable order.
func sampleKeys(all []mutant, n int, seed uint64) []mutant {
	r := rand.New(rand.NewPCG(seed, 0x6d7574616e74))
	type keyed struct {
		key float64
		m   mutant
	}
	ks := make([]keyed, len(all))
	for i, m := range all {
		u := r.Float64()
		if u == 0 {
			u = 1e-300
		}
		ks[i] = keyed{key: -expNeg(u, m.weight), m: m}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	if n <= 0 || n > len(ks) {
		n = len(ks)
	}
	out := make([]mutant, n)
	for i := range n {
		out[i] = ks[i].m
	}
	return out
}

// expNeg is u^(1/w), the Efraimidis-Spirakis key (larger is picked first).
func expNeg(u, w float64) float64 {
	if w <= 0 {
		return 0
	}
	return math.Pow(u, 1/w)
}

// sampleDraw draws n mutants without replacement by a running weighted
// draw over the ones left (whole weights, an integer stream).
func sampleDraw(all []mutant, n int, seed uint64) []mutant {
	r := rand.New(rand.NewPCG(seed, 0x5711))
	if n <= 0 || n > len(all) {
		n = len(all)
	}
	pool := append([]mutant(nil), all...)
	var got []mutant
	for len(got) < n {
		total := 0
		for _, m := range pool {
			total += int(m.weight)
		}
		x := r.IntN(total)
		for i, m := range pool {
			if x -= int(m.weight); x < 0 {
				got = append(got, m)
				pool = append(pool[:i], pool[i+1:]...)
				break
			}
		}
	}
	return got
}

// describeLines shows the change as the whole source line(s) before and
// after: "file<TAB>line<TAB>kind<TAB>before  =>  after".
func describeLines(m mutant, src []byte) string {
	ls := bytes.LastIndexByte(src[:m.start], '\n') + 1
	le := len(src)
	if i := bytes.IndexByte(src[m.end:], '\n'); i >= 0 {
		le = m.end + i
	}
	before := string(src[ls:le])
	after := string(src[ls:m.start]) + m.repl + string(src[m.end:le])
	return fmt.Sprintf("%s\t%d\t%s\t%s  =>  %s", m.file, m.line, m.kind, oneLine(before, 110, 107), oneLine(after, 110, 107))
}

// describeTokens shows only the replaced range: "file:line kind: old => new".
func describeTokens(m mutant, src []byte) string {
	line := 1 + bytes.Count(src[:m.start], []byte("\n"))
	return fmt.Sprintf("%s:%d %s: %s => %s", m.file, line, m.kind,
		oneLine(string(src[m.start:m.end]), 70, 70), oneLine(m.repl, 70, 70))
}

// oneLine joins s's fields; one longer than max is cut to keep bytes and
// "...".
func oneLine(s string, max, keep int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:keep] + "..."
	}
	if s == "" {
		return "(deleted)"
	}
	return s
}

func candidates(file string, src []byte, r rules) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	text := func(n ast.Node) string { return string(src[off(n.Pos()):off(n.End())]) }
	var ms []mutant
	add := func(kind string, at token.Pos, start, end int, repl string) {
		if name, ok := r.kinds[kind]; ok {
			kind = name
		}
		ms = append(ms, mutant{file: file, line: fset.Position(at).Line, kind: kind, start: start, end: end, repl: repl})
	}
	// Ranges that are not mutated.
	var skip [][2]token.Pos
	skipped := func(p token.Pos) bool {
		for _, rg := range skip {
			if p >= rg[0] && p < rg[1] {
				return true
			}
		}
		return false
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && r.skipFuncs[fd.Name.Name] {
			skip = append(skip, [2]token.Pos{fd.Pos(), fd.End()})
		}
	}
	if r.skipChecks {
		ast.Inspect(f, func(n ast.Node) bool {
			if is, ok := n.(*ast.IfStmt); ok && panics(is.Body) {
				skip = append(skip, [2]token.Pos{is.Cond.Pos(), is.Body.End()})
			}
			return true
		})
	}
	del := func(st ast.Stmt) {
		kind := ""
		switch x := st.(type) {
		case *ast.AssignStmt:
			if x.Tok != token.DEFINE {
				kind = "del-assign"
			}
		case *ast.IncDecStmt:
			kind = "del-incdec"
		case *ast.ExprStmt:
			if c, ok := x.X.(*ast.CallExpr); ok && !r.quietCall(c) {
				kind = "del-call"
			}
		}
		if kind != "" && !skipped(st.Pos()) && !r.quietText(text(st)) {
			add(kind, st.Pos(), off(st.Pos()), off(st.End()), "")
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return true
		}
		if skipped(n.Pos()) {
			return false
		}
		switch x := n.(type) {
		case *ast.BinaryExpr:
			if r.skipChecks && isErrCheck(x) {
				return true
			}
			if to, ok := swaps[x.Op]; ok {
				s := off(x.OpPos)
				kind := "relop"
				if x.Op == token.LAND || x.Op == token.LOR {
					kind = "logic"
				}
				add(kind, x.OpPos, s, s+len(x.Op.String()), to.String())
			}
			if (x.Op == token.ADD || x.Op == token.SUB) && isOne(x.Y) {
				add("drop"+x.Op.String()+"1", x.OpPos, off(x.X.End()), off(x.Y.End()), "")
			}
		case *ast.IfStmt:
			if b, ok := x.Cond.(*ast.BinaryExpr); ok && r.skipChecks && isErrCheck(b) {
				return true
			}
			add("negate-if", x.Cond.Pos(), off(x.Cond.Pos()), off(x.Cond.End()), "!("+text(x.Cond)+")")
		case *ast.BlockStmt:
			if r.inLists {
				for _, st := range x.List {
					del(st)
				}
			}
		case *ast.CaseClause:
			if r.inLists {
				for _, st := range x.Body {
					del(st)
				}
			}
		case *ast.AssignStmt, *ast.IncDecStmt, *ast.ExprStmt:
			if !r.inLists {
				del(x.(ast.Stmt))
			}
		case *ast.ReturnStmt:
			if r.singleFlip && len(x.Results) != 1 {
				return true
			}
			for _, res := range x.Results {
				if id, ok := res.(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") {
					add("flip-return", id.Pos(), off(id.Pos()), off(id.End()), map[string]string{"true": "false", "false": "true"}[id.Name])
				}
			}
		}
		return true
	})
	if r.sorted {
		sort.SliceStable(ms, func(i, j int) bool {
			if ms[i].start != ms[j].start {
				return ms[i].start < ms[j].start
			}
			return ms[i].kind < ms[j].kind
		})
	}
	return ms, nil
}

var swaps = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LAND: token.LOR, token.LOR: token.LAND,
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func isOne(e ast.Expr) bool {
	b, ok := e.(*ast.BasicLit)
	return ok && b.Kind == token.INT && b.Value == "1"
}

// panics reports whether a block is an invariant check: it calls panic.
func panics(b *ast.BlockStmt) bool {
	for _, s := range b.List {
		if es, ok := s.(*ast.ExprStmt); ok {
			if c, ok := es.X.(*ast.CallExpr); ok {
				if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "panic" {
					return true
				}
			}
		}
	}
	return false
}

func isLogging(c *ast.CallExpr) bool {
	var name string
	switch f := c.Fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
	}
	switch name {
	case "panic", "debug", "logf", "Printf", "Println", "Debug", "Info", "Warn", "Error", "Logf":
		return true
	}
	return false
}

// isErrCheck reports whether b is "err != nil" or "err == nil".
func isErrCheck(b *ast.BinaryExpr) bool {
	x, ok1 := b.X.(*ast.Ident)
	y, ok2 := b.Y.(*ast.Ident)
	return ok1 && ok2 && x.Name == "err" && y.Name == "nil" && (b.Op == token.EQL || b.Op == token.NEQ)
}

// unifiedDiff runs diff -u on the two versions of file (a path from the
// repository root).
func unifiedDiff(file string, a, b []byte) []byte {
	tmp, err := os.MkdirTemp("", "mutate")
	check(err)
	defer os.RemoveAll(tmp)
	pa, pb := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	check(os.WriteFile(pa, a, 0o644))
	check(os.WriteFile(pb, b, 0o644))
	rel := filepath.ToSlash(file)
	out, err := exec.Command("diff", "-u", "--label", "a/"+rel, "--label", "b/"+rel, pa, pb).Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil // differences found
	}
	check(err)
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
