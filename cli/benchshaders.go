package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func benchShadersCommand() *cli.Command {
	return &cli.Command{
		Name:  "shaders",
		Usage: "compile every kernel variant and print the driver's statistics: registers, spills, occupancy, instruction mix",
		Description: "Compiles, without running anything, every pipeline a model's training and evaluation\n" +
			"can build on the device (every GEMM variant it can run, with the flags each product\n" +
			"uses) and prints what the driver reports through VK_KHR_pipeline_executable_properties,\n" +
			"with counts from its disassembly where it gives AMD's ISA. Fails when a pipeline does\n" +
			"not compile, spills registers, needs scratch memory, or uses more shared memory\n" +
			"than the device has. The matrix kernels compile in the instance the device would run\n" +
			"(bf16 matrices, or on a CPU their emulation), or where it offers fp16 matrices alone,\n" +
			"in fp16, to check the code its compiler makes.\n" +
			"With no GPU, RADV's null hardware is AMD's compiler:\n" +
			"  RADV_FORCE_FAMILY=navi31 VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/radeon_icd.json \\\n" +
			"    vkcnn bench shaders --device 'null hardware'",
		UsageText: "vkcnn bench shaders [--model standard|small|FILE] [--precision P|all] [--json] [--isa DIR] [--warp TILE]... [--device D]",
		Flags: []cli.Flag{
			modelFlag,
			&cli.StringFlag{Name: "precision", Value: "all", Usage: "the pipelines of this precision's runs (" + strings.Join(kernels.PrecisionNames(), ", ") + "), or all"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
			&cli.StringFlag{Name: "isa", Usage: "write each pipeline's disassembly, where the driver gives one, to `DIR`/SHADER_VARIANT.s"},
			warpFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       benchShaders,
	}
}

// shaderResult is one pipeline's statistics. The counts come from the
// disassembly and are absent where the driver gives none.
type shaderResult struct {
	Shader          string             `json:"shader"`
	Variant         string             `json:"variant"`
	Spec            []uint32           `json:"specialization"`
	UsedBy          []string           `json:"used_by,omitempty"`
	SubgroupSize    uint32             `json:"subgroup_size,omitempty"`
	Statistics      map[string]float64 `json:"statistics,omitempty"`
	Instructions    *int               `json:"instructions,omitempty"`
	FMAInstructions *int               `json:"fma_instructions,omitempty"`
	WideLoads       *int               `json:"wide_loads,omitempty"`
	Matrix          *int               `json:"matrix_instructions,omitempty"`
	Problems        []string           `json:"problems,omitempty"`

	order []string // statistic names as the driver lists them
}

type benchShadersResult struct {
	Device     string         `json:"device"`
	Driver     string         `json:"driver"`
	Model      string         `json:"model"`
	Statistics bool           `json:"statistics"`
	Skipped    []string       `json:"skipped_variants,omitempty"` // why, a variant each
	Pipelines  []shaderResult `json:"pipelines"`

	skippedNames []string
}

func benchShaders(c *cli.Context) (err error) {
	model, err := loadModel(c)
	if err != nil {
		return err
	}
	comp, err := vk.OpenCompiler(deviceOptions(c))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, comp.Close()) }()
	info := comp.Info()
	res := benchShadersResult{Device: info.Name, Driver: info.DriverInfo, Model: c.String("model"), Statistics: comp.Statistics()}

	extra, err := warpVariants(c)
	if err != nil {
		return err
	}
	// Shapes are push constants: one batch size stands for all. `bench
	// gemm` runs the plain product, without flags.
	precs := kernels.Precisions
	if p := c.String("precision"); p != "all" {
		prec, err := flagPrecision(c)
		if err != nil {
			return err
		}
		precs = []kernels.Precision{kernels.FP32, prec} // fp32 for the products no matrix variant runs
	}
	names, products := nn.Products(model, 1)
	names = append(names, "bench gemm")
	products = append(products, kernels.Gemm{})
	pipelines, skipped, err := kernels.Pipelines(info, names, products, append(slices.Clone(kernels.GemmVariants), extra...), precs, model.Input().Geometry())
	if err != nil {
		return err
	}
	for _, s := range skipped {
		res.Skipped = append(res.Skipped, s.Why.Error())
		res.skippedNames = append(res.skippedNames, s.Variant)
	}

	failed := 0
	for _, p := range pipelines {
		exes, err := comp.Compile(p.Spec)
		if err != nil {
			return fmt.Errorf("%s does not compile: %w", strings.TrimSpace(p.Spec.Name+" "+p.Label), err)
		}
		r := shaderResult{Shader: p.Spec.Name, Variant: p.Label, Spec: p.Spec.Spec, UsedBy: p.Users}
		for _, e := range exes {
			r.add(e, info)
			if err := writeISA(c.String("isa"), r, e); err != nil {
				return err
			}
		}
		if len(r.Problems) > 0 {
			failed++
		}
		res.Pipelines = append(res.Pipelines, r)
	}
	if c.Bool("json") {
		if err := printJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else {
		printShaders(c.App.Writer, res)
	}
	if failed > 0 {
		var what []string
		for _, r := range res.Pipelines {
			if len(r.Problems) > 0 {
				what = append(what, fmt.Sprintf("%s %s (%s)", r.Shader, r.Variant, strings.Join(r.Problems, ", ")))
			}
		}
		return fmt.Errorf("%d of %d pipelines fail on %s: %s", failed, len(res.Pipelines), info.Name, strings.Join(what, "; "))
	}
	return nil
}

// add takes in one executable (a compute pipeline has one): its
// statistics, its problems and its ISA counts.
func (r *shaderResult) add(e vk.Executable, info vk.DeviceInfo) {
	r.SubgroupSize = e.SubgroupSize
	if r.Statistics == nil {
		r.Statistics = map[string]float64{}
	}
	for _, s := range e.Statistics {
		if strings.Contains(strings.ToLower(s.Name), "hash") {
			continue // an identifier, not a figure
		}
		r.Statistics[s.Name] += s.Value
		r.order = append(r.order, s.Name)
	}
	r.Problems = append(r.Problems, e.Problems(info)...)
	if isa, ok := e.ISA(); ok {
		n := vk.CountISA(isa)
		r.Instructions, r.FMAInstructions, r.WideLoads, r.Matrix = &n.Instructions, &n.FMA, &n.WideLoads, &n.Matrix
	}
}

// writeISA writes the executable's disassembly to dir, named after the
// pipeline; nothing where dir is "" or the driver gives no disassembly.
func writeISA(dir string, r shaderResult, e vk.Executable) error {
	isa, ok := e.ISA()
	if dir == "" || !ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--isa: %w", err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, strings.TrimSpace(r.Shader+" "+r.Variant)) + ".s"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(isa), 0o644); err != nil {
		return fmt.Errorf("--isa: %w", err)
	}
	return nil
}

// shaderColumn is a table column: the sum of the named statistics.
type shaderColumn struct {
	header string
	stats  []string
}

// radvColumns are the statistics RADV reports that judge a kernel: the
// table shows these where the driver names them so, every statistic
// elsewhere.
var radvColumns = []shaderColumn{
	{"VGPRs", []string{"VGPRs"}},
	{"SGPRs", []string{"SGPRs"}},
	{"spilled", []string{"Spilled VGPRs", "Spilled SGPRs"}},
	{"LDS bytes", []string{"LDS size"}},
	{"scratch bytes", []string{"Scratch size"}},
	{"subgroups/SIMD", []string{"Subgroups per SIMD"}},
	{"VALU", []string{"VALU"}},
	{"SALU", []string{"SALU"}},
	{"VMEM", []string{"VMEM"}},
	{"latency", []string{"Latency"}},
	{"inv. throughput", []string{"Inverse Throughput"}},
}

func shaderColumns(res benchShadersResult) []shaderColumn {
	have := map[string]bool{}
	var order []string
	for _, r := range res.Pipelines {
		for _, name := range r.order {
			if !have[name] {
				have[name] = true
				order = append(order, name)
			}
		}
	}
	var cols []shaderColumn
	for _, col := range radvColumns {
		for _, s := range col.stats {
			if have[s] {
				cols = append(cols, col)
				break
			}
		}
	}
	if len(cols) > 0 {
		return cols
	}
	for _, name := range order {
		cols = append(cols, shaderColumn{name, []string{name}})
	}
	return cols
}

func printShaders(w io.Writer, res benchShadersResult) {
	fmt.Fprintf(w, "%d pipelines of the %s model's kernels on %s (%s)\n", len(res.Pipelines), res.Model, res.Device, res.Driver)
	if len(res.Skipped) > 0 {
		fmt.Fprintf(w, "not compiled, they run none of the model's products on this device: %s\n", strings.Join(res.skippedNames, ", "))
	}
	if !res.Statistics {
		fmt.Fprintf(w, "%s reports no pipeline statistics (VK_KHR_pipeline_executable_properties); all %d pipelines were created without error\n", res.Device, len(res.Pipelines))
		return
	}
	cols := shaderColumns(res)
	header := []string{"shader", "variant"}
	for _, col := range cols {
		header = append(header, col.header)
	}
	header = append(header, "instructions", "FMA", "FMA %", "128-bit loads", "matrix")
	rows := [][]string{header}
	for _, r := range res.Pipelines {
		row := []string{r.Shader, r.Variant}
		for _, col := range cols {
			sum, found := 0.0, false
			for _, s := range col.stats {
				if v, ok := r.Statistics[s]; ok {
					sum, found = sum+v, true
				}
			}
			cell := "-"
			if found {
				cell = fmt.Sprint(sum)
			}
			row = append(row, cell)
		}
		if r.Instructions != nil {
			fma := 0.0
			if *r.Instructions > 0 {
				fma = 100 * float64(*r.FMAInstructions) / float64(*r.Instructions)
			}
			row = append(row, fmt.Sprint(*r.Instructions), fmt.Sprint(*r.FMAInstructions), fmt.Sprintf("%.0f", fma), fmt.Sprint(*r.WideLoads), fmt.Sprint(*r.Matrix))
		} else {
			row = append(row, "-", "-", "-", "-", "-")
		}
		rows = append(rows, row)
	}
	printMarkdownTable(w, rows)
	fmt.Fprintln(w, "instructions, FMA, 128-bit loads and matrix (v_wmma, v_mfma) are lines of the disassembly; the other columns are the driver's statistics")
}

// printMarkdownTable prints rows (the first is the header) as a Markdown
// table with padded columns, readable as text and pasteable into docs.
func printMarkdownTable(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, cell := range row {
			if i < 2 {
				fmt.Fprintf(&b, " %-*s |", widths[i], cell)
			} else {
				fmt.Fprintf(&b, " %*s |", widths[i], cell)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(widths))
	for i, n := range widths {
		if i < 2 {
			sep[i] = strings.Repeat("-", n)
		} else {
			sep[i] = strings.Repeat("-", n-1) + ":"
		}
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}
