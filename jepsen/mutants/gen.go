//go:build ignore

// gen writes single-point mutants of Go source files for jepsen/mutants/run.sh.
//
//	go run jepsen/mutants/gen.go -out DIR -n N -seed S file.go[=weight]...
//
// Each candidate mutation changes one token range of one file: a relational
// operator swapped (< <=, > >=, == !=), a "+ 1" or "- 1" dropped, && and ||
// swapped, an if-condition negated, an assignment or call statement deleted,
// a "return true/false" flipped. Invariant checks (if-statements whose body
// panics) and debug logging are not mutated: breaking an assertion only
// makes the code crash or check less, which says nothing about the
// simulator. N candidates are sampled without replacement, each file's
// candidates drawn with its weight (default 1), from a PCG seeded with S,
// so a seed names the same sample on every machine. DIR gets one mutated
// copy of the file per mutant (DIR/NNNN.go) and DIR/index.tsv with
// id, file, line, kind and the change.
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
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type mutant struct {
	file       string
	line       int
	kind       string
	start, end int // byte range of the file replaced
	repl       string
	weight     float64
}

func main() {
	out := flag.String("out", "", "output directory")
	n := flag.Int("n", 80, "mutants to sample (0: all)")
	seed := flag.Uint64("seed", 1, "sampling seed")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-n N] [-seed S] file.go[=weight]...")
		os.Exit(2)
	}
	var all []mutant
	srcs := map[string][]byte{}
	for _, arg := range flag.Args() {
		file, w := arg, 1.0
		if i := strings.LastIndex(arg, "="); i >= 0 {
			file = arg[:i]
			v, err := strconv.ParseFloat(arg[i+1:], 64)
			if err != nil {
				fmt.Fprintln(os.Stderr, "gen: bad weight:", arg)
				os.Exit(2)
			}
			w = v
		}
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		srcs[file] = src
		ms, err := candidates(file, src)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		for i := range ms {
			ms[i].weight = w
		}
		all = append(all, ms...)
	}
	picked := sample(all, *n, *seed)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	var index bytes.Buffer
	for i, m := range picked {
		src := srcs[m.file]
		var b bytes.Buffer
		b.Write(src[:m.start])
		b.WriteString(m.repl)
		b.Write(src[m.end:])
		id := fmt.Sprintf("%04d", i+1)
		if err := os.WriteFile(filepath.Join(*out, id+".go"), b.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		// The change is shown as the whole source line(s) before and after.
		ls := bytes.LastIndexByte(src[:m.start], '\n') + 1
		le := len(src)
		if i := bytes.IndexByte(src[m.end:], '\n'); i >= 0 {
			le = m.end + i
		}
		before := string(src[ls:le])
		after := string(src[ls:m.start]) + m.repl + string(src[m.end:le])
		fmt.Fprintf(&index, "%s\t%s\t%d\t%s\t%s  =>  %s\n", id, m.file, m.line, m.kind,
			oneLine(before), oneLine(after))
	}
	if err := os.WriteFile(filepath.Join(*out, "index.tsv"), index.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen: %d candidates, %d sampled\n", len(all), len(picked))
}

// sample draws n mutants without replacement, each with probability
// proportional to its weight (Efraimidis-Spirakis keys), in a stable order.
func sample(all []mutant, n int, seed uint64) []mutant {
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

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 110 {
		s = s[:107] + "..."
	}
	if s == "" {
		return "(deleted)"
	}
	return s
}

func candidates(file string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	line := func(p token.Pos) int { return fset.Position(p).Line }
	var ms []mutant
	add := func(kind string, at token.Pos, start, end int, repl string) {
		ms = append(ms, mutant{file: file, line: line(at), kind: kind, start: start, end: end, repl: repl})
	}
	// Ranges that are not mutated: invariant checks and String methods.
	var skip [][2]token.Pos
	skipped := func(p token.Pos) bool {
		for _, r := range skip {
			if p >= r[0] && p < r[1] {
				return true
			}
		}
		return false
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if ok && (fd.Name.Name == "String" || fd.Name.Name == "debug" || fd.Name.Name == "GoString") {
			skip = append(skip, [2]token.Pos{fd.Pos(), fd.End()})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if is, ok := n.(*ast.IfStmt); ok && panics(is.Body) {
			skip = append(skip, [2]token.Pos{is.Cond.Pos(), is.Body.End()})
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil || skipped(n.Pos()) {
			return n == nil || !skipped(n.Pos())
		}
		switch x := n.(type) {
		case *ast.BinaryExpr:
			if isErrCheck(x) {
				// err != nil flipped fails every run at once: no information.
				return true
			}
			swap := map[token.Token]token.Token{
				token.LSS: token.LEQ, token.LEQ: token.LSS,
				token.GTR: token.GEQ, token.GEQ: token.GTR,
				token.EQL: token.NEQ, token.NEQ: token.EQL,
				token.LAND: token.LOR, token.LOR: token.LAND,
			}
			if to, ok := swap[x.Op]; ok {
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
			if b, ok := x.Cond.(*ast.BinaryExpr); ok && isErrCheck(b) {
				return true
			}
			add("negate-if", x.Cond.Pos(), off(x.Cond.Pos()), off(x.Cond.End()),
				"!("+string(src[off(x.Cond.Pos()):off(x.Cond.End())])+")")
		case *ast.AssignStmt:
			if x.Tok != token.DEFINE {
				add("del-assign", x.Pos(), off(x.Pos()), off(x.End()), "")
			}
		case *ast.IncDecStmt:
			add("del-incdec", x.Pos(), off(x.Pos()), off(x.End()), "")
		case *ast.ExprStmt:
			if c, ok := x.X.(*ast.CallExpr); ok && !isLogging(c) {
				add("del-call", x.Pos(), off(x.Pos()), off(x.End()), "")
			}
		case *ast.ReturnStmt:
			for _, r := range x.Results {
				if id, ok := r.(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") {
					to := "true"
					if id.Name == "true" {
						to = "false"
					}
					add("flip-return", id.Pos(), off(id.Pos()), off(id.End()), to)
				}
			}
		}
		return true
	})
	return ms, nil
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
