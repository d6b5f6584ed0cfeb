package local

import (
	"os"
	"path/filepath"
)

// syncEach fsyncs the files in dir that have content, then dir itself.
func syncEach(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var first error
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			if err := f.Sync(); err != nil && first == nil {
				first = err
			}
		}
		f.Close()
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere (Windows)
		d.Close()
	}
	return first
}
