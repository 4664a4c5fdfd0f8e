package templates

import (
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"
)

// The checker walks a template's parse tree before it is ever executed and
// resolves every field reference against the Data struct by reflection, so
// a misspelt field is refused when the template is saved rather than when
// the morning reminder run executes it.

var (
	dataType   = reflect.TypeFor[Data]()
	stringType = reflect.TypeFor[string]()
	boolType   = reflect.TypeFor[bool]()
	intType    = reflect.TypeFor[int]()
)

const notAllowedTemplate = "{{template}}, {{define}} and {{block}} are not allowed"

// check parses src and refuses anything outside the documented template
// language: unknown fields, disallowed actions and functions.
func check(field, src string) error {
	tree := parse.New(field)
	tree.Mode = parse.SkipFuncCheck // we report unknown functions ourselves, with a better message
	set := map[string]*parse.Tree{}
	if _, err := tree.Parse(src, "", "", set); err != nil {
		return parseError(field, err)
	}
	c := &checker{field: field, src: src}
	if err := c.walk(tree.Root, &scope{dot: dataType, vars: map[string]reflect.Type{"$": dataType}}); err != nil {
		return err
	}
	for _, t := range set {
		if t != tree {
			return c.refuse(t.Root, notAllowedTemplate)
		}
	}
	return nil
}

type checker struct {
	field, src string
}

// scope is what dot and each variable hold at a point in the template; a nil
// type means "not known statically".
type scope struct {
	dot  reflect.Type
	vars map[string]reflect.Type
}

func (s *scope) child() *scope {
	vars := make(map[string]reflect.Type, len(s.vars))
	for k, v := range s.vars {
		vars[k] = v
	}
	return &scope{dot: s.dot, vars: vars}
}

func (c *checker) line(n parse.Node) int {
	if n == nil {
		return 0
	}
	pos := int(n.Position())
	if pos > len(c.src) {
		pos = len(c.src)
	}
	return 1 + strings.Count(c.src[:pos], "\n")
}

func (c *checker) refuse(n parse.Node, format string, args ...any) error {
	return invalid(c.field, c.line(n), format, args...)
}

func (c *checker) walk(node parse.Node, sc *scope) error {
	switch n := node.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, child := range n.Nodes {
			if err := c.walk(child, sc); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		_, err := c.pipe(n.Pipe, sc)
		return err
	case *parse.IfNode:
		inner := sc.child()
		if _, err := c.pipe(n.Pipe, inner); err != nil {
			return err
		}
		if err := c.walk(n.List, inner.child()); err != nil {
			return err
		}
		return c.walkElse(n.ElseList, inner)
	case *parse.WithNode:
		inner := sc.child()
		t, err := c.pipe(n.Pipe, inner)
		if err != nil {
			return err
		}
		body := inner.child()
		body.dot = t
		if err := c.walk(n.List, body); err != nil {
			return err
		}
		return c.walkElse(n.ElseList, inner)
	case *parse.RangeNode:
		return c.refuse(n, "{{range}} is not allowed: no field is a list")
	case *parse.TemplateNode:
		return c.refuse(n, notAllowedTemplate)
	default:
		return c.refuse(node, "%s is not allowed", node)
	}
}

func (c *checker) walkElse(list *parse.ListNode, sc *scope) error {
	if list == nil {
		return nil
	}
	return c.walk(list, sc.child())
}

// pipe checks a pipeline and returns the type it produces.
func (c *checker) pipe(p *parse.PipeNode, sc *scope) (reflect.Type, error) {
	if p == nil {
		return nil, nil
	}
	var t reflect.Type
	for _, cmd := range p.Cmds {
		var err error
		if t, err = c.command(cmd, sc); err != nil {
			return nil, err
		}
	}
	for _, v := range p.Decl {
		sc.vars[v.Ident[0]] = t
	}
	return t, nil
}

func (c *checker) command(cmd *parse.CommandNode, sc *scope) (reflect.Type, error) {
	if len(cmd.Args) == 0 {
		return nil, nil
	}
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		if !allowedFunc(id.Ident) {
			return nil, c.refuse(id, "function %q is not allowed (allowed: upper, lower, default, %s)", id.Ident, strings.Join(allowedBuiltins, ", "))
		}
		if id.Ident == "printf" {
			if err := c.printf(cmd); err != nil {
				return nil, err
			}
		}
		for _, a := range cmd.Args[1:] {
			if _, err := c.arg(a, sc); err != nil {
				return nil, err
			}
		}
		return funcResult(id.Ident), nil
	}
	var t reflect.Type
	for i, a := range cmd.Args {
		at, err := c.arg(a, sc)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			t = at
		}
	}
	return t, nil
}

const computedFormat = `printf needs its format written in the template, such as printf "%s" .Text`

// printf refuses a printf call whose format is not a literal string, so
// that checkFormat sees every format that will run. A piped value is
// printf's last argument, never its format: {{.Text | printf "%s"}}.
func (c *checker) printf(cmd *parse.CommandNode) error {
	if len(cmd.Args) < 2 {
		return c.refuse(cmd, "%s", computedFormat)
	}
	format, ok := cmd.Args[1].(*parse.StringNode)
	if !ok {
		return c.refuse(cmd.Args[1], "%s", computedFormat)
	}
	if reason := checkFormat(format.Text); reason != "" {
		return c.refuse(format, "%s", reason)
	}
	return nil
}

func funcResult(name string) reflect.Type {
	switch name {
	case "upper", "lower", "default", "print", "printf":
		return stringType
	case "not", "eq", "ne", "lt", "le", "gt", "ge":
		return boolType
	case "len":
		return intType
	}
	return nil // and, or: one of their arguments
}

const wholeData = "the whole data set cannot be used; name a field such as .PracticeName"

func (c *checker) arg(node parse.Node, sc *scope) (reflect.Type, error) {
	switch n := node.(type) {
	case *parse.FieldNode:
		return c.resolve(n, sc.dot, "", n.Ident)
	case *parse.VariableNode:
		base := sc.vars[n.Ident[0]]
		if len(n.Ident) == 1 && base == dataType {
			return nil, c.refuse(n, wholeData)
		}
		return c.resolve(n, base, n.Ident[0], n.Ident[1:])
	case *parse.ChainNode:
		t, err := c.arg(n.Node, sc)
		if err != nil {
			return nil, err
		}
		return c.resolve(n, t, n.Node.String(), n.Field)
	case *parse.DotNode:
		if sc.dot == dataType {
			return nil, c.refuse(n, wholeData)
		}
		return sc.dot, nil
	case *parse.IdentifierNode:
		if !allowedFunc(n.Ident) {
			return nil, c.refuse(n, "function %q is not allowed", n.Ident)
		}
		if n.Ident == "printf" { // called with no arguments at all
			return nil, c.refuse(n, "%s", computedFormat)
		}
		return funcResult(n.Ident), nil
	case *parse.PipeNode:
		return c.pipe(n, sc)
	case *parse.StringNode:
		return stringType, nil
	case *parse.BoolNode:
		return boolType, nil
	case *parse.NumberNode, *parse.NilNode:
		return nil, nil
	default:
		return nil, c.refuse(node, "%s is not allowed", node)
	}
}

// resolve follows a field chain from base; prefix is what the chain hangs
// off ("" for dot, "$x" for a variable) and is used in messages.
func (c *checker) resolve(n parse.Node, base reflect.Type, prefix string, idents []string) (reflect.Type, error) {
	t := base
	path := prefix
	for _, name := range idents {
		full := path + "." + name
		switch {
		case t == nil:
			return nil, c.refuse(n, "cannot look up %s: %s is not a known value", full, orDot(path))
		case t.Kind() != reflect.Struct:
			return nil, c.refuse(n, "unknown field %s: %s is %s and has no fields", full, orDot(path), describe(t))
		}
		f, ok := t.FieldByName(name)
		if !ok || !f.IsExported() {
			return nil, c.refuse(n, "unknown field %s", full)
		}
		t, path = f.Type, full
	}
	return t, nil
}

func orDot(path string) string {
	if path == "" {
		return "."
	}
	return path
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "yes/no"
	case reflect.Int:
		return "a number"
	}
	return t.String()
}

// fieldValue returns Data field name of d as text.
func fieldValue(d Data, name string) (string, bool) {
	v := reflect.ValueOf(d).FieldByName(name)
	if !v.IsValid() {
		return "", false
	}
	return fmt.Sprint(v.Interface()), true
}
