package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"google.golang.org/protobuf/proto"
	"mvdan.cc/sh/v3/syntax"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/onnx/onnxpb"
)

// The guide's pages, README.md and docs/*.md, relative to the repository.
func docPages(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, path := range append(paths, "../README.md") {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pages[strings.TrimPrefix(path, "../")] = string(b)
	}
	return pages
}

// docCommand is a vkcnn command line a page shows: in a shell code block,
// whole (runnable as written), or in an inline code span, a synopsis
// ("vkcnn eval --run DIR [--logits FILE.npy]") or a part of a command.
type docCommand struct {
	where string // page:line
	args  []string
	whole bool
}

func (d docCommand) String() string { return d.where + ": vkcnn " + strings.Join(d.args, " ") }

var (
	fence      = regexp.MustCompile("^\\s*```\\s*(\\w*)")
	codeSpan   = regexp.MustCompile("`([^`]+)`") // a span may run over lines of a paragraph
	spanVkcnn  = regexp.MustCompile(`^([A-Z_]+=\S* )*(\S*/)?vkcnn `)
	alternates = regexp.MustCompile(`([^\s|]+)(\|[^\s|]*)+`)
	ellipsis   = regexp.MustCompile(`\.\.\.(\s|$)`)
)

// docCommands finds the vkcnn commands of a page: in fenced code blocks of
// shell (sh, bash or none) and indented ones, each command of the script
// that runs vkcnn (bin/vkcnn, or ./build.sh train, which runs vkcnn
// train); in inline code spans that begin with "vkcnn ", the span as a
// synopsis.
func docCommands(page, text string) ([]docCommand, error) {
	var out []docCommand
	lines := strings.Split(text, "\n")
	script := func(first int, src string, whole bool) error {
		cmds, err := shellCommands(src)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", page, first, err)
		}
		for _, c := range cmds {
			out = append(out, docCommand{where: fmt.Sprintf("%s:%d", page, first+c.line-1), args: c.args, whole: whole})
		}
		return nil
	}
	// Code blocks are read as scripts and blanked, keeping the line
	// numbers, for the search of code spans in the rest.
	prose := slices.Clone(lines)
	for i := 0; i < len(lines); i++ {
		if m := fence.FindStringSubmatch(lines[i]); m != nil {
			start := i + 1
			for i++; i < len(lines) && !fence.MatchString(lines[i]); i++ {
			}
			end := min(i+1, len(lines))
			clear(prose[start-1 : end])
			if lang := m[1]; lang == "" || lang == "sh" || lang == "bash" {
				if err := script(start+1, strings.Join(lines[start:end-1], "\n"), true); err != nil {
					return nil, err
				}
			}
			continue
		}
		if strings.HasPrefix(lines[i], "    ") && (i == 0 || strings.TrimSpace(lines[i-1]) == "") {
			start := i
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == ""); i++ {
			}
			clear(prose[start:i])
			if block := strings.Join(lines[start:i], "\n"); strings.Contains(block, "vkcnn ") {
				if err := script(start+1, block, true); err != nil {
					return nil, err
				}
			}
			i--
		}
	}
	text = strings.Join(prose, "\n")
	for _, m := range codeSpan.FindAllStringSubmatchIndex(text, -1) {
		span := strings.Join(strings.Fields(text[m[2]:m[3]]), " ")
		if spanVkcnn.MatchString(span) {
			if err := script(strings.Count(text[:m[0]], "\n")+1, synopsis(span), false); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// synopsis turns a usage line into a command line: optional parts are
// kept, of alternatives (a|b) the first, repetition marks dropped.
func synopsis(s string) string {
	s = strings.ReplaceAll(s, `\|`, "|")
	s = strings.ReplaceAll(s, " | ", " ")
	s = alternates.ReplaceAllString(s, "$1")
	s = strings.NewReplacer("[", "", "]", "").Replace(s)
	return ellipsis.ReplaceAllString(s, "$1")
}

type shellCommand struct {
	line int
	args []string
}

// shellCommands parses a shell script and returns the arguments of each
// command in it that runs vkcnn.
func shellCommands(src string) ([]shellCommand, error) {
	file, err := syntax.NewParser().Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, err
	}
	var out []shellCommand
	syntax.Walk(file, func(node syntax.Node) bool {
		call, ok := node.(*syntax.CallExpr)
		if !ok {
			return true
		}
		var words []string
		for _, w := range call.Args {
			words = append(words, wordText(w))
		}
		for i, w := range words {
			switch {
			case w == "vkcnn" || strings.HasSuffix(w, "/vkcnn"):
				out = append(out, shellCommand{int(call.Pos().Line()), words[i+1:]})
				return true
			case w == "./build.sh" && i+1 < len(words) && words[i+1] == "train":
				out = append(out, shellCommand{int(call.Pos().Line()), words[i+1:]})
				return true
			}
		}
		return true
	})
	return out, nil
}

// wordText is a shell word as the command receives it, parameters left
// as written.
func wordText(w *syntax.Word) string {
	var b strings.Builder
	var parts func([]syntax.WordPart)
	parts = func(ps []syntax.WordPart) {
		for _, p := range ps {
			switch p := p.(type) {
			case *syntax.Lit:
				b.WriteString(p.Value)
			case *syntax.SglQuoted:
				b.WriteString(p.Value)
			case *syntax.DblQuoted:
				parts(p.Parts)
			case *syntax.ParamExp:
				b.WriteString("$" + p.Param.Value)
			default:
				b.WriteString("?")
			}
		}
	}
	parts(w.Parts)
	return b.String()
}

// checkingApp is the command line with every action replaced by a check
// of the arguments it would receive: a command that has subcommands takes
// no arguments (they would name an unknown one), and an argument that
// looks like a flag is one the command did not parse as a flag (it came
// after an argument).
func checkingApp() *cli.App {
	app := newApp(io.Discard, io.Discard)
	check := func(takesArgs bool) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() > 0 && !takesArgs {
				return fmt.Errorf("unknown command %q", c.Args().First())
			}
			for _, a := range c.Args().Slice() {
				if strings.HasPrefix(a, "-") {
					return fmt.Errorf("%s comes after an argument, so it is taken as an argument, not a flag", a)
				}
			}
			return nil
		}
	}
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.Action, c.Before, c.After = check(len(c.Subcommands) == 0), nil, nil
			walk(c.Subcommands)
		}
	}
	app.Action = check(false)
	walk(app.Commands)
	return app
}

// placeholder is a value a synopsis stands in for (N, DIR, EXPERIMENT:SEED).
var placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_:,.]*$`)

// fillValues gives a command line's flags values their type parses where
// the line leaves them out or names a placeholder, and for a part of a
// command, its required flags: what is left to check is the command and
// flag names, where flags come, and the values written.
func fillValues(app *cli.App, d docCommand) []string {
	cmds, flags := app.Commands, slices.Clone(app.Flags)
	var path []string
	rest := d.args
	var cmd *cli.Command
	for len(rest) > 0 {
		i := slices.IndexFunc(cmds, func(c *cli.Command) bool { return c.HasName(rest[0]) })
		if i < 0 {
			break
		}
		cmd = cmds[i]
		path, rest, cmds = append(path, rest[0]), rest[1:], cmd.Subcommands
		flags = append(flags, cmd.Flags...)
	}
	find := func(name string) cli.Flag {
		for _, f := range flags {
			if slices.Contains(f.Names(), name) {
				return f
			}
		}
		return nil
	}
	dummy := func(f cli.Flag) string {
		switch f.(type) {
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.Float64Flag, *cli.IntSliceFlag, *cli.Float64SliceFlag:
			return "1"
		case *cli.DurationFlag:
			return "1s"
		}
		return "X"
	}
	var args []string
	if !d.whole && cmd != nil {
		for _, f := range cmd.Flags {
			if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() && !slices.ContainsFunc(rest, func(a string) bool {
				return slices.Contains(f.Names(), strings.TrimLeft(a, "-"))
			}) {
				args = append(args, "--"+f.Names()[0], dummy(f))
			}
		}
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		args = append(args, a)
		name, hasValue := strings.CutPrefix(strings.TrimPrefix(a, "-"), "-")
		if !hasValue && !strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
			continue
		}
		f := find(name)
		if f == nil {
			continue
		}
		if v, ok := f.(cli.DocGenerationFlag); !ok || !v.TakesValue() {
			continue
		}
		switch {
		case i+1 == len(rest) || strings.HasPrefix(rest[i+1], "-"):
			args = append(args, dummy(f))
		case placeholder.MatchString(rest[i+1]):
			args = append(args, dummy(f))
			i++
		}
	}
	return append(append([]string{"vkcnn"}, path...), args...)
}

// TestDocsCommands: every vkcnn command README.md and docs/*.md show
// parses with the command line's own commands and flags, as written: a
// renamed command or flag, a flag placed after an argument, or a value of
// the wrong type fails here.
func TestDocsCommands(t *testing.T) {
	pages := docPages(t)
	total := 0
	for page, text := range pages {
		cmds, err := docCommands(page, text)
		if err != nil {
			t.Fatal(err)
		}
		total += len(cmds)
		for _, d := range cmds {
			if len(d.args) > 0 && placeholder.MatchString(d.args[0]) {
				continue // vkcnn ARGS: any command
			}
			app := checkingApp()
			if err := app.Run(fillValues(app, d)); err != nil {
				t.Errorf("%v: %v", d, err)
			}
		}
	}
	// The pages show more than 80: finding far fewer means the
	// search, not the pages, went wrong.
	if total < 50 {
		t.Errorf("found %d vkcnn commands in %d pages, want 50 or more", total, len(pages))
	}
	t.Logf("%d vkcnn commands in %d pages", total, len(pages))
}

// TestDocsCommandsCheck: the check above fails on what it is there to
// catch.
func TestDocsCommandsCheck(t *testing.T) {
	for _, c := range []struct {
		line string
		want string
	}{
		{"`vkcnn train --epoch 1`", "flag provided but not defined: -epoch"},
		{"`vkcnn trian --epochs 1`", `unknown command "trian"`},
		{"`vkcnn bench gem --m 8`", `unknown command "gem"`},
		{"`vkcnn predict --run DIR digit.png --device 0`", "--device comes after an argument"},
		{"`vkcnn train --epochs one`", "invalid value"},
		{"```sh\nbin/vkcnn eval --logits x.npy\n```", `Required flag "run" not set`},
	} {
		cmds, err := docCommands("page.md", c.line)
		if err != nil || len(cmds) != 1 {
			t.Fatalf("%s: %v, %v", c.line, cmds, err)
		}
		app := checkingApp()
		if err := app.Run(fillValues(app, cmds[0])); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.line, err, c.want)
		}
	}
}

// TestDocsLinks: every relative link of the pages names a file that is
// there, and an anchor a heading of that page makes.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading := regexp.MustCompile(`(?m)^#+ (.*)$`)
	codeBlock := regexp.MustCompile("(?s)```.*?```")
	anchors := func(text string) []string {
		var out []string
		for _, m := range heading.FindAllStringSubmatch(codeBlock.ReplaceAllString(text, ""), -1) {
			a := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(m[1])), " ", "-")
			out = append(out, strings.Map(func(r rune) rune {
				if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
					return r
				}
				return -1
			}, a))
		}
		return out
	}
	for page, text := range docPages(t) {
		for _, m := range link.FindAllStringSubmatch(codeBlock.ReplaceAllString(text, ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := filepath.Join("..", page)
			if path != "" {
				file = filepath.Join("..", filepath.Dir(page), path)
			}
			b, err := os.ReadFile(file)
			if err != nil && !isDir(file) {
				t.Errorf("%s: link %s: %v", page, target, err)
				continue
			}
			if anchor != "" && !slices.Contains(anchors(string(b)), anchor) {
				t.Errorf("%s: link %s: %s has no heading for #%s", page, target, path, anchor)
			}
		}
	}
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

//go:generate go test -run ^TestCommandReference$ -update .

var update = flag.Bool("update", false, "rewrite docs/commands.md from the command line's definitions")

// commandsPage is docs/commands.md.
const commandsPage = "../docs/commands.md"

// TestCommandReference: docs/commands.md is what the command line's own
// definitions make of it (go generate ./cli remakes it).
func TestCommandReference(t *testing.T) {
	want := commandReference(newApp(io.Discard, io.Discard))
	if *update {
		if err := os.WriteFile(commandsPage, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(commandsPage)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the command line's definitions make: run go generate ./cli", commandsPage)
	}
}

// commandReference is docs/commands.md: every command, its usage and its
// visible flags, from the command line's definitions.
func commandReference(app *cli.App) []byte {
	var b bytes.Buffer
	b.WriteString("# Commands\n\n" +
		"<!-- Made by `go generate ./cli` from the command line's definitions (cli/*.go); TestCommandReference fails when it is out of date. Edit those, not this page. -->\n\n" +
		"Every command of `vkcnn` with its flags, their defaults and the environment variables that set them, as the command line defines them. " +
		"What the commands are for, with examples, is in [the guide](../README.md#the-guide).\n\n")
	b.WriteString("| command | what it does |\n|---|---|\n")
	each(app.Commands, nil, func(path []string, c *cli.Command) {
		name := strings.Join(path, " ")
		fmt.Fprintf(&b, "| [`vkcnn %s`](#%s) | %s |\n", name, "vkcnn-"+strings.ReplaceAll(name, " ", "-"), cell(c.Usage))
	})
	b.WriteString("\n## Flags of every command\n\nGiven before the command: `vkcnn --validate train ...`.\n\n")
	flagTable(&b, app.Flags)
	each(app.Commands, nil, func(path []string, c *cli.Command) {
		usage := strings.TrimSuffix(c.Usage, ".")
		fmt.Fprintf(&b, "\n## vkcnn %s\n\n%s%s.\n", strings.Join(path, " "), strings.ToUpper(usage[:1]), usage[1:])
		if c.UsageText != "" {
			// Each form begins a line; the lines after it that are
			// indented go on with it.
			b.WriteString("\nUsage:\n\n")
			for _, form := range strings.Split(c.UsageText, "\nvkcnn ") {
				fmt.Fprintf(&b, "- `vkcnn %s`\n", strings.Join(strings.Fields(strings.TrimPrefix(form, "vkcnn ")), " "))
			}
		}
		if c.Description != "" {
			fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.Description))
		}
		if len(c.Subcommands) > 0 {
			var subs []string
			for _, s := range c.Subcommands {
				subs = append(subs, "`"+s.Name+"`")
			}
			fmt.Fprintf(&b, "\nCommands: %s.\n", strings.Join(subs, ", "))
		}
		if len(c.Flags) > 0 {
			b.WriteString("\n")
			flagTable(&b, c.Flags)
		}
	})
	return b.Bytes()
}

// each calls do for every command and subcommand, in the order the
// command line lists them, with its path of names.
func each(cmds []*cli.Command, path []string, do func([]string, *cli.Command)) {
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		p := append(slices.Clone(path), c.Name)
		do(p, c)
		each(c.Subcommands, p, do)
	}
}

// flagTable writes a table of the visible flags.
func flagTable(b *bytes.Buffer, flags []cli.Flag) {
	b.WriteString("| flag | value | default | what |\n|---|---|---|---|\n")
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			names = append(names, "`--"+n+"`")
		}
		value, def, usage := "", "", ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage = d.GetUsage()
			if d.TakesValue() {
				value, def = flagType(f), d.GetDefaultText()
			}
			if env := d.GetEnvVars(); len(env) > 0 {
				usage += " (environment: `" + strings.Join(env, "`, `") + "`)"
			}
		}
		if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() {
			def = "required"
		}
		if def == "0" {
			def = "" // the flag left out: no such setting
		}
		if def != "" && def != "required" {
			def = "`" + strings.Trim(def, `"`) + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", strings.Join(names, ", "), value, def, cell(usage))
	}
}

// flagType names the kind of value a flag takes.
func flagType(f cli.Flag) string {
	switch f.(type) {
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return "integer"
	case *cli.Float64Flag:
		return "number"
	case *cli.DurationFlag:
		return "duration"
	case *cli.StringSliceFlag:
		return "text, repeatable"
	case *cli.IntSliceFlag:
		return "integers, repeatable"
	}
	return "text"
}

// cell is text fit for a table cell: one line, bars escaped.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// TestDocsReadme runs the README's examples as a newcomer would, in a
// fresh folder, on a small MNIST-shaped data set made for the test
// (VKCNN_DATA): the quick start's training, the own model, and the
// commands that look at the run, each as the README writes it.
func TestDocsReadme(t *testing.T) {
	cmds, err := docCommands("README.md", docPages(t)["README.md"])
	if err != nil {
		t.Fatal(err)
	}
	// The README's command whose arguments begin so: a README that drops
	// or changes one fails here, to be changed with it.
	readme := func(prefix string) []string {
		for _, d := range cmds {
			if d.whole && strings.HasPrefix(strings.Join(d.args, " "), prefix) {
				return d.args
			}
		}
		t.Fatalf("README.md has no command vkcnn %s...", prefix)
		return nil
	}
	work, data := t.TempDir(), t.TempDir()
	rng := rand.New(rand.NewPCG(28, 1))
	digits := augment.Geometry{Height: 28, Width: 28, Channels: 1}
	train, trainLabels := datatest.Learnable(rng, digits, 10, 192)
	test, testLabels := datatest.Learnable(rng, digits, 10, 64)
	datatest.Write(t, data, map[string][]byte{
		"train-images-idx3-ubyte": datatest.IDXImages(digits, 192, train),
		"train-labels-idx1-ubyte": datatest.IDXLabels(trainLabels),
		"t10k-images-idx3-ubyte":  datatest.IDXImages(digits, 64, test),
		"t10k-labels-idx1-ubyte":  datatest.IDXLabels(testLabels),
	})
	writePNG(t, filepath.Join(work, "digit.png"), test[:digits.Values()], digits, 1, false)
	_, section, _ := strings.Cut(docPages(t)["README.md"], "## Your own model")
	_, mine, _ := strings.Cut(section, "```json\n")
	mine, _, _ = strings.Cut(mine, "```")
	if err := os.WriteFile(filepath.Join(work, "mine.json"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args []string) string {
		t.Helper()
		stdout, stderr, status := runBinaryIn(t, binary, work, []string{"VKCNN_DATA=" + data}, args...)
		if status != 0 {
			t.Fatalf("vkcnn %s: status %d: %s", strings.Join(args, " "), status, stderr)
		}
		return stdout
	}

	run(readme("train --model small --epochs 1"))
	runs, err := filepath.Glob(filepath.Join(work, "runs", "small-*"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("the quick start left runs %v (%v), want one runs/small-...", runs, err)
	}
	// Every file docs/training.md lists in a run folder is there.
	_, folder, _ := strings.Cut(docPages(t)["docs/training.md"], "## The run folder")
	folder, _, _ = strings.Cut(folder, "\n## ")
	listed := regexp.MustCompile("(?m)^\\| `([^`]+)`(, `([^`]+)`)? \\|")
	var files []string
	for _, m := range listed.FindAllStringSubmatch(folder, -1) {
		files = append(files, m[1])
		if m[3] != "" {
			files = append(files, m[3])
		}
	}
	if len(files) < 9 {
		t.Fatalf("docs/training.md lists %v in a run folder", files)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(runs[0], f)); err != nil || st.Size() == 0 {
			t.Errorf("docs/training.md lists %s in a run folder: %v", f, err)
		}
	}

	if out := run(readme("summary --model mine.json")); !strings.Contains(out, "Total params: 9,770") {
		t.Errorf("summary of mine.json:\n%s", out)
	}
	run(readme("train --model mine.json --epochs 1"))
	if mines, _ := filepath.Glob(filepath.Join(work, "runs", "mine-*")); len(mines) != 1 {
		t.Errorf("training mine.json left runs %v", mines)
	}
	// A graph that TensorFlow.js wrote, as the Keras file.
	keras, err := os.ReadFile("../keras/testdata/tfjs_functional.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "keras_model.json"), keras, 0o644); err != nil {
		t.Fatal(err)
	}
	run(readme("train --model keras_model.json --epochs 1"))
	// Photos of three classes, of two sizes, in RGB.
	for i := range 24 {
		dir := filepath.Join(work, "photos", []string{"train", "test"}[i%2], []string{"cat", "dog", "owl"}[i%3])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		g := augment.Geometry{Height: 30 + i%2*6, Width: 40, Channels: 3}
		pixels := make([]byte, g.Values())
		for k := range pixels {
			pixels[k] = byte(rng.IntN(256))
		}
		writePNG(t, filepath.Join(dir, fmt.Sprintf("%d.png", i)), pixels, g, 1, false)
	}
	run(readme("train --model resnet20 --data photos"))
	if photos, _ := filepath.Glob(filepath.Join(work, "runs", "resnet20-*")); len(photos) != 1 {
		t.Errorf("training on photos left runs %v", photos)
	}

	// The run the README's commands name runs/small-...
	named := func(args []string) []string {
		out := slices.Clone(args)
		for i, a := range out {
			if a == "runs/small-..." {
				out[i] = runs[0]
			}
		}
		return out
	}
	if out := run(named(readme("eval --run runs/small-..."))); !regexp.MustCompile(`Test accuracy: \d\.\d{4}\n`).MatchString(out) {
		t.Errorf("eval:\n%s", out)
	}
	if out := run(named(readme("predict --run runs/small-... digit.png"))); !regexp.MustCompile(`digit\.png: \d \(probability`).MatchString(out) {
		t.Errorf("predict:\n%s", out)
	}
	run(named(readme("export --run runs/small-... --onnx model.onnx")))
	b, err := os.ReadFile(filepath.Join(work, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var model onnxpb.ModelProto
	if err := proto.Unmarshal(b, &model); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for _, o := range model.GetGraph().GetOutput() {
		outputs = append(outputs, o.GetName())
	}
	if in := model.GetGraph().GetInput(); len(in) != 1 || in[0].GetName() != "input" || !slices.Equal(outputs, []string{"probabilities", "logits"}) {
		t.Errorf("model.onnx: inputs %v, outputs %v; docs/evaluating.md says input, then probabilities and logits", in, outputs)
	}
	if out := run(readme("devices")); !strings.Contains(out, "*") {
		t.Errorf("devices marks no default:\n%s", out)
	}
}
