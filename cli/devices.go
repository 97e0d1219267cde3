package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func devicesCommand() *cli.Command {
	return &cli.Command{
		Name:  "devices",
		Usage: "list Vulkan devices and what vkcnn knows of them; * marks the default",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
		},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			devices, err := vkcnn.Devices()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, devices)
			}
			printDevices(c.App.Writer, devices)
			return nil
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printDevices(w io.Writer, devices []vk.DeviceInfo) {
	for _, d := range devices {
		mark := " "
		if d.Default {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %d  %s  (%s)\n", mark, d.Index, d.Name, d.Type)
		driver := d.DriverName
		if d.DriverInfo != "" {
			driver += ", " + d.DriverInfo
		}
		if driver == "" {
			driver = fmt.Sprintf("version 0x%x", d.DriverVersion)
		}
		fmt.Fprintf(w, "     driver %s; Vulkan %s\n", driver, d.APIVersion)
		if d.Placement == "" {
			fmt.Fprintf(w, "     memory: no device-local memory for buffers: vkcnn cannot train here\n")
		} else {
			fmt.Fprintf(w, "     memory %s device-local; placement: %s; storage-buffer range %s\n", numfmt.Bytes(int64(d.DeviceLocalBytes)), d.Placement, numfmt.Bytes(int64(d.MaxStorageBufferRange)))
		}
		fmt.Fprintf(w, "     %s\n", memoryTable(d.Memory))
		fmt.Fprintf(w, "     workgroup size %dx%dx%d, %d invocations, %d KiB shared memory\n",
			d.MaxWorkgroupSize[0], d.MaxWorkgroupSize[1], d.MaxWorkgroupSize[2], d.MaxWorkgroupInvocations, d.SharedMemoryBytes>>10)
		fmt.Fprintf(w, "     subgroup %d lanes (%s), %s; float16 %s; 16-bit storage %s; bfloat16 %s; timestamps %s\n",
			d.SubgroupSize, strings.Join(d.SubgroupOps, ","), requirable(d), yesNo(d.Float16), yesNo(d.Storage16Bit), yesNo(d.Bfloat16), timestamps(d))
		fmt.Fprintf(w, "     cooperative matrices (tensor cores): %s\n", matrixShapes(d.CooperativeMatrices))
		fmt.Fprintf(w, "     precisions: %s\n", precisions(d))
		if !d.ComputeQueue {
			fmt.Fprintf(w, "     no compute queue: vkcnn cannot use this device\n")
		}
		if major, _, ok := d.MesaVersion(); ok && d.IsLavapipe() && major < 24 {
			fmt.Fprintf(w, "     note: Mesa %d's lavapipe is several times slower than Mesa 24 or newer (Debian 12: bookworm-backports; ./build.sh deps installs it)\n", major)
		}
	}
}

// precisions lists the precisions the device trains at (kernels.CheckPrecision),
// the first reason against those it does not.
func precisions(d vk.DeviceInfo) string {
	var runs, not []string
	var why error
	for _, p := range kernels.Precisions {
		if err := kernels.CheckPrecision(d, p); err != nil {
			not = append(not, p.String())
			why = cmp.Or(why, err)
			continue
		}
		runs = append(runs, p.String())
	}
	if len(not) == 0 {
		return strings.Join(runs, ", ")
	}
	return fmt.Sprintf("%s (not %s: %v)", strings.Join(runs, ", "), strings.Join(not, ", "), why)
}

// requirable says which subgroup sizes a kernel can require of the device.
func requirable(d vk.DeviceInfo) string {
	if d.MinSubgroupSize == 0 {
		return "no size can be required"
	}
	if d.MinSubgroupSize == d.MaxSubgroupSize {
		return fmt.Sprintf("%d can be required", d.MinSubgroupSize)
	}
	return fmt.Sprintf("%d to %d can be required", d.MinSubgroupSize, d.MaxSubgroupSize)
}

// memoryTable writes the heaps and types a device's memory has, which
// decide where buffers go (vk.PlaceMemory).
func memoryTable(m vk.MemoryTable) string {
	var heaps, types []string
	for i, h := range m.Heaps {
		local := ""
		if h.DeviceLocal {
			local = " device-local"
		}
		heaps = append(heaps, fmt.Sprintf("%d: %s%s", i, numfmt.Bytes(int64(h.Bytes)), local))
	}
	for i, t := range m.Types {
		types = append(types, fmt.Sprintf("%d: %s (heap %d)", i, t.Flags, t.Heap))
	}
	return "memory heaps " + strings.Join(heaps, ", ") + "; types " + strings.Join(types, ", ")
}

// timestamps says whether the device times work, and with how many bits.
func timestamps(d vk.DeviceInfo) string {
	if !d.Timestamps {
		return "no"
	}
	return fmt.Sprintf("yes (%d bits)", d.TimestampBits)
}

// matrixShapes lists a device's cooperative-matrix products, those of the
// same size together: "16x16x16: float16*float16+float32, ...".
func matrixShapes(shapes []vk.MatrixShape) string {
	if len(shapes) == 0 {
		return "none"
	}
	var sizes []string
	types := map[string][]string{}
	for _, s := range shapes {
		size := fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K)
		if s.Scope != "subgroup" {
			size += " (" + s.Scope + ")"
		}
		if types[size] == nil {
			sizes = append(sizes, size)
		}
		if t := fmt.Sprintf("%s*%s+%s", s.A, s.B, s.C); !slices.Contains(types[size], t) {
			types[size] = append(types[size], t)
		}
	}
	var out []string
	for _, size := range sizes {
		out = append(out, size+": "+strings.Join(types[size], ", "))
	}
	return strings.Join(out, "; ")
}
