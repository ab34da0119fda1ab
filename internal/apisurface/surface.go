package apisurface

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Use says where an exported name is used; a name may carry several.
type Use uint8

const (
	// Outside: the non-test code of another package of the module.
	Outside Use = 1 << iota
	// Inside: the non-test code of the name's own package.
	Inside
	// Tests: a test file, of its own package or another.
	Tests
	// Interface: a method an interface its type implements requires.
	Interface
	// Example: an Example function of its package, by name or in its body.
	Example
	// Enumeration: a constant of a type of its package that is itself used
	// outside or shown by an example.
	Enumeration
)

// Name is one exported name of the surface.
type Name struct {
	Pkg  string // import path
	Recv string // the receiver's type name for a method, "" otherwise
	Name string
	Kind string // const, var, type, func or method
	Pos  string // file:line, relative to the module's directory
	Use  Use
	Via  string // the interface that requires a method, when Use has Interface
}

// String is the name as Go code outside the package writes it, with the
// package's path: "example.com/m/upload.Client.Upload".
func (n Name) String() string {
	if n.Recv != "" {
		return n.Pkg + "." + n.Recv + "." + n.Name
	}
	return n.Pkg + "." + n.Name
}

// Kept reports whether the name earns its place: used outside its package
// (directly or as a method an interface requires) or shown by an example.
func (n Name) Kept() bool { return n.Use&(Outside|Interface|Example|Enumeration) != 0 }

// Class is a short word for where the name is used, the widest first:
// outside, interface, enumeration, inside, tests or unused.
func (n Name) Class() string {
	switch {
	case n.Use&Outside != 0:
		return "outside"
	case n.Use&Interface != 0:
		return "interface"
	case n.Use&Enumeration != 0:
		return "enumeration"
	case n.Use&Inside != 0:
		return "inside"
	case n.Use&Tests != 0:
		return "tests"
	}
	return "unused"
}

// Report is the surface of a module: its exported names, sorted by
// package, receiver and name.
type Report struct {
	Module string
	Names  []Name
}

// Missing lists the names neither used outside their package nor shown by
// an example.
func (r *Report) Missing() []Name {
	var out []Name
	for _, n := range r.Names {
		if !n.Kept() {
			out = append(out, n)
		}
	}
	return out
}

// PerPackage counts the names of each package.
func (r *Report) PerPackage() map[string]int {
	out := map[string]int{}
	for _, n := range r.Names {
		out[n.Pkg]++
	}
	return out
}

// Public reports whether the package at the module-relative path rel is
// part of the surface: anything outside internal/ and cmd/.
func Public(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == "internal" {
			return false
		}
	}
	return rel != "cmd" && !strings.HasPrefix(rel, "cmd/")
}

// Load measures the surface of the module in dir, merging what each build
// tag set sees (nil or an empty set is the default build).
func Load(dir string, tagSets ...[]string) (*Report, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("apisurface: %w", err)
	}
	if len(tagSets) == 0 {
		tagSets = [][]string{nil}
	}
	names := map[string]*Name{}
	module := ""
	for _, tags := range tagSets {
		l, err := newLoader(dir, tags)
		if err != nil {
			return nil, err
		}
		if err := l.run(); err != nil {
			return nil, err
		}
		module = l.module
		for k, n := range l.names {
			if m := names[k]; m != nil {
				m.Use |= n.Use
				m.Via = cmp.Or(m.Via, n.Via)
				continue
			}
			names[k] = n
		}
	}
	r := &Report{Module: module}
	for _, n := range names {
		r.Names = append(r.Names, *n)
	}
	slices.SortFunc(r.Names, func(a, b Name) int {
		return cmp.Or(cmp.Compare(a.Pkg, b.Pkg), cmp.Compare(a.Recv, b.Recv), cmp.Compare(a.Name, b.Name))
	})
	return r, nil
}

// listed is what `go list -json` says of one package.
type listed struct {
	ImportPath      string
	Dir             string
	Name            string
	ForTest         string
	Export          string
	CompiledGoFiles []string
	ImportMap       map[string]string
	Module          *struct {
		Path string
		Main bool
	}
	Error *struct{ Err string }
}

type checked struct {
	pkg   *types.Package
	info  *types.Info
	files []*ast.File
	err   error
	busy  bool
}

type loader struct {
	dir     string
	tags    []string
	module  string
	fset    *token.FileSet
	byID    map[string]*listed
	order   []*listed
	gc      types.Importer
	checked map[string]*checked
	names   map[string]*Name
	// seen keeps, per Use, the named types already walked.
	seen map[Use]map[*types.Named]bool
	// inside is the package whose files record or examples reads.
	inside string
}

func newLoader(dir string, tags []string) (*loader, error) {
	args := []string{"list", "-e", "-json", "-export", "-compiled", "-deps", "-test"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./...")
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("apisurface: go %s: %w: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	l := &loader{
		dir: dir, tags: tags, fset: token.NewFileSet(),
		byID: map[string]*listed{}, checked: map[string]*checked{},
		names: map[string]*Name{}, seen: map[Use]map[*types.Named]bool{},
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("apisurface: reading go list: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("apisurface: %s: %s", p.ImportPath, p.Error.Err)
		}
		l.byID[p.ImportPath] = &p
		l.order = append(l.order, &p)
		if p.Module != nil && p.Module.Main {
			l.module = p.Module.Path
		}
	}
	l.gc = importer.ForCompiler(l.fset, "gc", func(path string) (io.ReadCloser, error) {
		p := l.byID[path]
		if p == nil || p.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(p.Export)
	})
	return l, nil
}

func (l *loader) inModule(p *listed) bool { return p.Module != nil && p.Module.Main }

// rel is the module-relative path of a plain import path.
func (l *loader) rel(path string) (string, bool) {
	if path == l.module {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, l.module+"/")
	return rest, ok
}

func (l *loader) public(path string) bool {
	rel, ok := l.rel(path)
	return ok && Public(rel)
}

type importerFor struct {
	l    *loader
	from *listed
}

func (i importerFor) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	id := path
	if m, ok := i.from.ImportMap[path]; ok {
		id = m
	}
	if p := i.l.byID[id]; p != nil && i.l.inModule(p) {
		c := i.l.check(p)
		return c.pkg, c.err
	}
	return i.l.gc.Import(id)
}

// check type-checks a package of the module from source, once.
func (l *loader) check(p *listed) *checked {
	if c := l.checked[p.ImportPath]; c != nil {
		if c.busy {
			c.err = fmt.Errorf("apisurface: import cycle through %s", p.ImportPath)
		}
		return c
	}
	c := &checked{busy: true}
	l.checked[p.ImportPath] = c
	defer func() { c.busy = false }()
	for _, f := range p.CompiledGoFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(p.Dir, f)
		}
		af, err := parser.ParseFile(l.fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			c.err = fmt.Errorf("apisurface: %w", err)
			return c
		}
		c.files = append(c.files, af)
	}
	c.info = &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
	}
	var errs []error
	conf := types.Config{
		Importer: importerFor{l, p},
		Sizes:    types.SizesFor("gc", runtime.GOARCH),
		Error:    func(err error) { errs = append(errs, err) },
	}
	path, _, _ := strings.Cut(p.ImportPath, " ")
	c.pkg, _ = conf.Check(path, l.fset, c.files, c.info)
	if len(errs) > 0 {
		c.err = fmt.Errorf("apisurface: type-checking %s: %w", p.ImportPath, errors.Join(errs...))
	}
	return c
}

func (l *loader) run() error {
	var plain []*listed
	for _, p := range l.order {
		if !l.inModule(p) || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		if c := l.check(p); c.err != nil {
			return c.err
		}
		if !strings.Contains(p.ImportPath, " ") {
			plain = append(plain, p)
		}
	}
	for _, p := range plain {
		if l.public(p.ImportPath) {
			l.declare(p)
		}
	}
	for _, p := range l.order {
		if !l.inModule(p) || p.ForTest == "" && strings.Contains(p.ImportPath, " ") {
			continue
		}
		c := l.checked[p.ImportPath]
		switch {
		case c == nil:
		case p.ForTest == "":
			l.record(p.ImportPath, c, false)
		case p.ImportPath == p.ForTest+" ["+p.ForTest+".test]" || p.ImportPath == p.ForTest+"_test ["+p.ForTest+".test]":
			l.record(p.ForTest, c, true)
			l.examples(p.ForTest, c)
		}
	}
	l.interfaces(plain)
	l.enumerations()
	return nil
}

// enumerations keeps the constants of a type the package declares when the
// type is kept: a caller that switches on a value needs all of them.
func (l *loader) enumerations() {
	for _, n := range l.names {
		if n.Kind != "const" || n.Use&(Outside|Example) != 0 {
			continue
		}
		c := l.checked[n.Pkg]
		if c == nil {
			continue
		}
		named, ok := c.pkg.Scope().Lookup(n.Name).Type().(*types.Named)
		if !ok || named.Obj().Pkg() != c.pkg {
			continue
		}
		if t := l.names[key(named.Obj())]; t != nil && t.Use&(Outside|Example) != 0 {
			n.Use |= Enumeration
			n.Via = named.Obj().Name()
		}
	}
}

// key names an object as Name.String does, or "" for objects that are no
// top-level name or method of a named type.
func key(obj types.Object) string {
	if obj == nil || obj.Pkg() == nil {
		return ""
	}
	if f, ok := obj.(*types.Func); ok {
		f = f.Origin()
		if recv := f.Signature().Recv(); recv != nil {
			t := recv.Type()
			if ptr, ok := t.(*types.Pointer); ok {
				t = ptr.Elem()
			}
			named, ok := t.(*types.Named)
			if !ok || types.IsInterface(named) {
				return ""
			}
			return f.Pkg().Path() + "." + named.Origin().Obj().Name() + "." + f.Name()
		}
		obj = f
	}
	if obj.Parent() != obj.Pkg().Scope() {
		return ""
	}
	return obj.Pkg().Path() + "." + obj.Name()
}

// declare lists the exported names of a public package's non-test files.
func (l *loader) declare(p *listed) {
	pkg := l.checked[p.ImportPath].pkg
	add := func(obj types.Object, recv, kind string) {
		pos := l.fset.Position(obj.Pos())
		file := pos.Filename
		if r, err := filepath.Rel(l.dir, file); err == nil {
			file = r
		}
		n := &Name{Pkg: pkg.Path(), Recv: recv, Name: obj.Name(), Kind: kind, Pos: fmt.Sprintf("%s:%d", file, pos.Line)}
		l.names[n.String()] = n
	}
	for _, name := range pkg.Scope().Names() {
		obj := pkg.Scope().Lookup(name)
		if obj.Exported() {
			add(obj, "", kindOf(obj))
		}
		// Methods of an unexported type are no names a user can write.
		tn, ok := obj.(*types.TypeName)
		if !ok || tn.IsAlias() || !tn.Exported() {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok {
			continue
		}
		for m := range named.Methods() {
			if m.Exported() {
				add(m, tn.Name(), "method")
			}
		}
	}
}

func kindOf(obj types.Object) string {
	switch obj.(type) {
	case *types.Const:
		return "const"
	case *types.Var:
		return "var"
	case *types.TypeName:
		return "type"
	}
	return "func"
}

func (l *loader) mark(k string, u Use) {
	if n := l.names[k]; n != nil {
		n.Use |= u
	}
}

func isTest(fset *token.FileSet, pos token.Pos) bool {
	f := fset.File(pos)
	return f != nil && strings.HasSuffix(f.Name(), "_test.go")
}

// record marks the uses in a checked package whose non-test code is that
// of pkgPath. In a test variant (variant true) only the test files count:
// the plain package already gave the others.
func (l *loader) record(pkgPath string, c *checked, variant bool) {
	l.inside = pkgPath
	use := func(pos token.Pos, objPkg string) (Use, bool) {
		switch {
		case isTest(l.fset, pos):
			return Tests, true
		case variant:
			return 0, false
		case objPkg == pkgPath:
			return Inside, true
		}
		return Outside, true
	}
	for id, obj := range c.info.Uses {
		if k := key(obj); k != "" {
			if u, ok := use(id.Pos(), obj.Pkg().Path()); ok {
				l.mark(k, u)
				if u == Inside {
					u = Outside // walk tells the package's own types apart
				}
				l.walk(obj.Type(), u)
			}
		}
	}
	for expr, tv := range c.info.Types {
		if tv.Type == nil {
			continue
		}
		if u, ok := use(expr.Pos(), ""); ok {
			l.walk(tv.Type, u)
		}
	}
}

// walk marks the named types of public packages that a type reaches, and
// through each one its exported fields or, for an interface, its methods'
// signatures: a type in the signature of a name used outside is used
// outside as well.
func (l *loader) walk(t types.Type, u Use) {
	switch t := t.(type) {
	case *types.Named:
		for a := range t.TypeArgs().Types() {
			l.walk(a, u)
		}
		origin := t.Origin()
		obj := origin.Obj()
		if obj.Pkg() == nil || !l.public(obj.Pkg().Path()) {
			return
		}
		if u == Outside && obj.Pkg().Path() == l.inside || u == Example && obj.Pkg().Path() != l.inside {
			// A package's own type met in its own code is no use from
			// outside; an example shows its own package only.
			return
		}
		seen := l.seen[u]
		if seen == nil {
			seen = map[*types.Named]bool{}
			l.seen[u] = seen
		}
		if seen[origin] {
			return
		}
		seen[origin] = true
		l.mark(key(obj), u)
		switch under := origin.Underlying().(type) {
		case *types.Struct:
			for f := range under.Fields() {
				if f.Exported() {
					l.walk(f.Type(), u)
				}
			}
		case *types.Interface:
			for m := range under.Methods() {
				if m.Exported() {
					l.walk(m.Type(), u)
				}
			}
		default:
			l.walk(under, u)
		}
	case *types.Pointer:
		l.walk(t.Elem(), u)
	case *types.Slice:
		l.walk(t.Elem(), u)
	case *types.Array:
		l.walk(t.Elem(), u)
	case *types.Map:
		l.walk(t.Key(), u)
		l.walk(t.Elem(), u)
	case *types.Chan:
		l.walk(t.Elem(), u)
	case *types.Tuple:
		for v := range t.Variables() {
			l.walk(v.Type(), u)
		}
	case *types.Signature:
		l.walk(t.Params(), u)
		l.walk(t.Results(), u)
	}
}

// examples marks the names the Example functions of pkgPath's tests show:
// by the function's name, or by use in its body.
func (l *loader) examples(pkgPath string, c *checked) {
	l.inside = pkgPath
	for _, f := range c.files {
		if !isTest(l.fset, f.Pos()) {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Body == nil || !strings.HasPrefix(fd.Name.Name, "Example") {
				continue
			}
			if k := exampleKey(pkgPath, fd.Name.Name); k != "" {
				l.mark(k, Example)
				if n := l.names[k]; n != nil && n.Recv == "" && n.Kind == "type" {
					if p := c.imported(pkgPath); p != nil {
						l.walk(p.Scope().Lookup(n.Name).Type(), Example)
					}
				}
			}
			ast.Inspect(fd.Body, func(node ast.Node) bool {
				switch node := node.(type) {
				case *ast.Ident:
					if obj := c.info.Uses[node]; obj != nil && obj.Pkg() != nil && obj.Pkg().Path() == pkgPath {
						l.mark(key(obj), Example)
						l.walk(obj.Type(), Example)
					}
				case ast.Expr:
					if tv, ok := c.info.Types[node]; ok && tv.Type != nil {
						l.walk(tv.Type, Example)
					}
				}
				return true
			})
		}
	}
}

// imported finds the package at path among a package's imports.
func (c *checked) imported(path string) *types.Package {
	if c.pkg.Path() == path {
		return c.pkg
	}
	for _, p := range c.pkg.Imports() {
		if p.Path() == path {
			return p
		}
	}
	return nil
}

// exampleKey is the name an Example function's name documents, as in
// go doc: Example, ExampleF, ExampleT_M, each with an optional suffix that
// starts with a lower-case letter.
func exampleKey(pkgPath, fn string) string {
	rest := strings.TrimPrefix(fn, "Example")
	parts := strings.Split(rest, "_")
	if parts[0] == "" {
		return ""
	}
	k := pkgPath + "." + parts[0]
	if len(parts) > 1 {
		if r, _ := utf8.DecodeRuneInString(parts[1]); unicode.IsUpper(r) {
			k += "." + parts[1]
		}
	}
	return k
}

// looked names the methods the standard library looks up through
// interfaces it declares inside its functions, where the scan of package
// scopes does not see them.
var looked = map[string]string{
	"Unwrap": "errors.Unwrap, errors.Is and errors.As; http.ResponseController",
	"Is":     "errors.Is",
	"As":     "errors.As",
}

// interfaces marks the methods an interface requires of their type: the
// interfaces declared by the module's packages (at top level or in a
// function) or by any package they import, and the interface literals their
// code writes.
func (l *loader) interfaces(plain []*listed) {
	byMethod := map[string][]*types.Interface{}
	names := map[*types.Interface]string{}
	add := func(t types.Type, name string) {
		it, ok := t.Underlying().(*types.Interface)
		if !ok || names[it] != "" {
			return
		}
		names[it] = name
		for m := range it.Methods() {
			byMethod[m.Name()] = append(byMethod[m.Name()], it)
		}
	}
	add(types.Universe.Lookup("error").Type(), "error")
	seen := map[*types.Package]bool{}
	var scan func(p *types.Package)
	scan = func(p *types.Package) {
		if seen[p] {
			return
		}
		seen[p] = true
		for _, n := range p.Scope().Names() {
			if tn, ok := p.Scope().Lookup(n).(*types.TypeName); ok {
				add(tn.Type(), p.Path()+"."+n)
			}
		}
		for _, imp := range p.Imports() {
			scan(imp)
		}
	}
	for _, p := range plain {
		c := l.checked[p.ImportPath]
		scan(c.pkg)
		for _, obj := range c.info.Defs {
			if tn, ok := obj.(*types.TypeName); ok {
				add(tn.Type(), c.pkg.Path()+"."+tn.Name())
			}
		}
		for _, tv := range c.info.Types {
			if tv.Type != nil {
				if _, ok := tv.Type.(*types.Interface); ok {
					add(tv.Type, "interface literal in "+c.pkg.Path())
				}
			}
		}
	}
	for _, p := range plain {
		if !l.public(p.ImportPath) {
			continue
		}
		pkg := l.checked[p.ImportPath].pkg
		for _, name := range pkg.Scope().Names() {
			tn, ok := pkg.Scope().Lookup(name).(*types.TypeName)
			if !ok || tn.IsAlias() {
				continue
			}
			named, ok := tn.Type().(*types.Named)
			if !ok || named.TypeParams().Len() > 0 || types.IsInterface(named) {
				continue
			}
			for m := range named.Methods() {
				if !m.Exported() {
					continue
				}
				if via := looked[m.Name()]; via != "" && m.Signature().Params().Len() <= 1 && m.Signature().Results().Len() == 1 {
					if n := l.names[key(m)]; n != nil {
						n.Use |= Interface
						n.Via = cmp.Or(n.Via, via)
					}
					continue
				}
				for _, it := range byMethod[m.Name()] {
					if types.Implements(named, it) || types.Implements(types.NewPointer(named), it) {
						if n := l.names[key(m)]; n != nil {
							n.Use |= Interface
							n.Via = cmp.Or(n.Via, names[it])
						}
						break
					}
				}
			}
		}
	}
}
