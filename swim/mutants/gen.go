//go:build ignore

// gen writes single-point mutants of the swim core (swim/*.go, tests
// excluded) as patches, for swim/mutants/run.sh. The sites are found with
// go/ast, listed in a fixed order (file, offset, operator), and sampled
// with a seeded PCG, weighted towards the logic-dense files, so one seed
// gives the same mutants byte for byte.
//
//	go run swim/mutants/gen.go -seed 1 -n 80 -out DIR [-list]
//
// Operators: relational swaps (< <=, > >=, == !=), dropping "+ 1" or
// "- 1", && <-> ||, negating an if condition, deleting one assignment,
// increment or call statement, flipping return true/false. Logging,
// Stats counters and panics are left alone (mutating them changes no
// behaviour the simulator can see).
//
// Each patch is DIR/NNN.patch (patch -p1 from the repository root); its
// first line, "# swim/FILE.go:LINE OP: OLD => NEW", says what changed.
// Whether a mutant compiles is run.sh's business.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// weight of each file's sites in the sampling; files not listed get 1.
// The probe, suspicion, merge, dissemination, push-pull, leave, user
// event and awareness logic is what a reviewer's planted bug would hit.
var weight = map[string]int{
	// Small files get more per site, so that each gets a few mutants.
	"probe.go": 6, "suspicion.go": 24, "state.go": 6, "broadcast.go": 5,
	"pushpull.go": 6, "leave.go": 14, "userevent.go": 8, "awareness.go": 20,
	"gossip.go": 10, "formulas.go": 8, "node.go": 3,
}

type site struct {
	file       string // base name
	start, end int    // byte offsets replaced
	repl       string
	op         string
}

func main() {
	seed := flag.Uint64("seed", 1, "sampling seed")
	n := flag.Int("n", 80, "mutants to write (all sites if larger)")
	out := flag.String("out", "", "directory for the patches")
	dir := flag.String("dir", "swim", "package directory, relative to the repository root")
	list := flag.Bool("list", false, "print every site and exit")
	flag.Parse()

	files, err := filepath.Glob(filepath.Join(*dir, "*.go"))
	check(err)
	sort.Strings(files)
	srcs := map[string][]byte{}
	var sites []site
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		check(err)
		srcs[filepath.Base(f)] = src
		sites = append(sites, findSites(filepath.Base(f), src)...)
	}
	if *list {
		for i, s := range sites {
			fmt.Printf("%d %s\n", i, describe(s, srcs[s.file]))
		}
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(2)
	}
	check(os.MkdirAll(*out, 0o755))
	r := rand.New(rand.NewPCG(*seed, 0x5711))
	for i, s := range sample(r, sites, *n) {
		src := srcs[s.file]
		mut := append(append(append([]byte{}, src[:s.start]...), s.repl...), src[s.end:]...)
		p := unifiedDiff(*dir, s.file, src, mut)
		hdr := "# " + describe(s, src) + "\n"
		check(os.WriteFile(filepath.Join(*out, fmt.Sprintf("%03d.patch", i+1)), append([]byte(hdr), p...), 0o644))
	}
}

// sample draws k sites without replacement, each with its file's weight
// (Efraimidis-Spirakis keys would need floats of the same stream; a
// running weighted draw is just as deterministic).
func sample(r *rand.Rand, sites []site, k int) []site {
	pool := append([]site(nil), sites...)
	var got []site
	for len(got) < k && len(pool) > 0 {
		total := 0
		for _, s := range pool {
			total += w(s.file)
		}
		x := r.IntN(total)
		for i, s := range pool {
			if x -= w(s.file); x < 0 {
				got = append(got, s)
				pool = append(pool[:i], pool[i+1:]...)
				break
			}
		}
	}
	return got
}

func w(file string) int {
	if v, ok := weight[file]; ok {
		return v
	}
	return 1
}

func describe(s site, src []byte) string {
	line := 1 + bytes.Count(src[:s.start], []byte("\n"))
	old := strings.Join(strings.Fields(string(src[s.start:s.end])), " ")
	if len(old) > 70 {
		old = old[:70] + "..."
	}
	repl := strings.Join(strings.Fields(s.repl), " ")
	if repl == "" {
		repl = "(deleted)"
	}
	if len(repl) > 70 {
		repl = repl[:70] + "..."
	}
	return fmt.Sprintf("swim/%s:%d %s: %s => %s", s.file, line, s.op, old, repl)
}

var swaps = map[token.Token]string{
	token.LSS: "<=", token.LEQ: "<", token.GTR: ">=", token.GEQ: ">",
	token.EQL: "!=", token.NEQ: "==", token.LAND: "||", token.LOR: "&&",
}

func findSites(name string, src []byte) []site {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, 0)
	check(err)
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	text := func(n ast.Node) string { return string(src[off(n.Pos()):off(n.End())]) }
	var out []site
	ast.Inspect(f, func(nd ast.Node) bool {
		switch x := nd.(type) {
		case *ast.FuncDecl:
			// String methods only format; mutants there are noise.
			if x.Name.Name == "String" || x.Name.Name == "validate" {
				return false
			}
		case *ast.BinaryExpr:
			if r, ok := swaps[x.Op]; ok {
				p := off(x.OpPos)
				op := "relational"
				if x.Op == token.LAND || x.Op == token.LOR {
					op = "logical"
				}
				out = append(out, site{name, p, p + len(x.Op.String()), r, op})
			}
			if (x.Op == token.ADD || x.Op == token.SUB) && isOne(x.Y) {
				out = append(out, site{name, off(x.X.End()), off(x.Y.End()), "", "drop-one"})
			}
		case *ast.IfStmt:
			out = append(out, site{name, off(x.Cond.Pos()), off(x.Cond.End()), "!(" + text(x.Cond) + ")", "negate-if"})
		case *ast.BlockStmt:
			for _, st := range x.List {
				if deletable(st, text) {
					out = append(out, site{name, off(st.Pos()), off(st.End()), "", "delete-stmt"})
				}
			}
		case *ast.CaseClause:
			for _, st := range x.Body {
				if deletable(st, text) {
					out = append(out, site{name, off(st.Pos()), off(st.End()), "", "delete-stmt"})
				}
			}
		case *ast.ReturnStmt:
			if len(x.Results) == 1 {
				if id, ok := x.Results[0].(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") {
					flip := map[string]string{"true": "false", "false": "true"}[id.Name]
					out = append(out, site{name, off(id.Pos()), off(id.End()), flip, "flip-return"})
				}
			}
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].start != out[j].start {
			return out[i].start < out[j].start
		}
		return out[i].op < out[j].op
	})
	return out
}

func isOne(e ast.Expr) bool {
	l, ok := e.(*ast.BasicLit)
	return ok && l.Kind == token.INT && l.Value == "1"
}

// deletable: an assignment (not a definition), an increment, or a call,
// other than logging, Stats counters and panics.
func deletable(st ast.Stmt, text func(ast.Node) string) bool {
	s := text(st)
	if strings.Contains(s, ".stats.") || strings.HasPrefix(s, "n.log.") || strings.HasPrefix(s, "panic(") {
		return false
	}
	switch x := st.(type) {
	case *ast.AssignStmt:
		return x.Tok != token.DEFINE
	case *ast.IncDecStmt:
		return true
	case *ast.ExprStmt:
		_, ok := x.X.(*ast.CallExpr)
		return ok
	}
	return false
}

// unifiedDiff runs diff -u on the two versions of dir/file.
func unifiedDiff(dir, file string, a, b []byte) []byte {
	tmp, err := os.MkdirTemp("", "swimmut")
	check(err)
	defer os.RemoveAll(tmp)
	pa, pb := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	check(os.WriteFile(pa, a, 0o644))
	check(os.WriteFile(pb, b, 0o644))
	rel := filepath.ToSlash(filepath.Join(dir, file))
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
