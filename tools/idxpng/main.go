// Command idxpng writes a data set that vkcnn reads (IDX or CIFAR-10) as
// an image folder, OUT/train/CLASS/NNNNN.png and OUT/test/CLASS/NNNNN.png,
// to measure the image-folder reader on real data:
//
//	go run ./tools/idxpng data/mnist /tmp/mnist-png
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: idxpng DATA_DIR OUT_DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "idxpng:", err)
		os.Exit(1)
	}
}

func write(data, out string) error {
	d, err := dataset.Load(data)
	if err != nil {
		return err
	}
	g := d.Geometry
	for split, set := range map[string]*dataset.Set{"train": d.Train, "test": d.Test} {
		for i, l := range set.Labels {
			class := fmt.Sprint(l)
			if int(l) < len(d.Names) {
				class = d.Names[l]
			}
			folder := filepath.Join(out, split, class)
			if err := os.MkdirAll(folder, 0o755); err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := datatest.EncodeImage(&buf, "png", g, set.Images[i*g.Values():(i+1)*g.Values()]); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(folder, fmt.Sprintf("%05d.png", i)), buf.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
