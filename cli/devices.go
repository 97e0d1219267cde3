package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"vkcnn/internal/numfmt"
	"vkcnn/nn/kernels"
	"vkcnn/vk"
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
			devices, err := vk.ListDevices()
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
		fmt.Fprintf(w, "     workgroup size %dx%dx%d, %d invocations, %d KiB shared memory\n",
			d.MaxWorkgroupSize[0], d.MaxWorkgroupSize[1], d.MaxWorkgroupSize[2], d.MaxWorkgroupInvocations, d.SharedMemoryBytes>>10)
		fmt.Fprintf(w, "     subgroup %d lanes (%s); float16 %s; 16-bit storage %s; cooperative matrix %s; timestamps %s\n",
			d.SubgroupSize, strings.Join(d.SubgroupOps, ","), yesNo(d.Float16), yesNo(d.Storage16Bit), yesNo(d.CooperativeMatrix), yesNo(d.Timestamps))
		if d.CooperativeMatrix {
			fmt.Fprintf(w, "     %s\n", kernels.Offered(d))
		}
		if !d.ComputeQueue {
			fmt.Fprintf(w, "     no compute queue: vkcnn cannot use this device\n")
		}
		if major, _, ok := d.MesaVersion(); ok && d.IsLavapipe() && major < 24 {
			fmt.Fprintf(w, "     note: Mesa %d's lavapipe is several times slower than Mesa 24 or newer (Debian 12: bookworm-backports; ./build.sh deps installs it)\n", major)
		}
	}
}
