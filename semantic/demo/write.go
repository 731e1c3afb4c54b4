package demo

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

var demoSource = regexp.MustCompile(`source: \{connection: demo, table: (\w+)\}`)

// Write copies the demo definitions into dir (which must exist), replacing each model's source
// with source(table): a YAML flow mapping such as "{connection: warehouse, table: shop.orders}"
// or "{file: orders.csv}". The same demo then reads its tables from a warehouse or from files.
func Write(dir string, source func(table string) string) error {
	return fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(FS, path)
		if err != nil {
			return err
		}
		data = demoSource.ReplaceAllFunc(data, func(m []byte) []byte {
			return []byte("source: " + source(string(demoSource.FindSubmatch(m)[1])))
		})
		return os.WriteFile(filepath.Join(dir, path), data, 0o644)
	})
}
