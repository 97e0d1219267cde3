// Command vkcnn trains convolutional networks with Vulkan compute shaders.
package main

import (
	"os"

	"github.com/vkcnn/vkcnn/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
