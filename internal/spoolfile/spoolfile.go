package spoolfile

import "os"

// File is an open spool file.
type File struct {
	*os.File
	named bool // still has its name in its directory
}

// Create creates a new spool file in dir (os.TempDir() if empty), named
// by pattern as in os.CreateTemp, and unlinks it where the system allows.
func Create(dir, pattern string) (*File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &File{File: f, named: os.Remove(f.Name()) != nil}, nil
}

// Named reports whether the file still has its name (it could not be
// unlinked while open).
func (f *File) Named() bool { return f.named }

// Close closes the file and, if it still has a name, removes it.
func (f *File) Close() error {
	err := f.File.Close()
	if f.named {
		os.Remove(f.Name())
	}
	return err
}
