// Command vkcnn trains convolutional networks with Vulkan compute shaders.
package main

import (
	"os"

	"vkcnn/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
