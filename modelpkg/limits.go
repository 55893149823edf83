package modelpkg

// Default limits. They are deliberately generous for model packages (a
// large model file is a few GiB) and finite: no limit is ever unlimited.
const (
	DefaultMaxEntries      = 10_000
	DefaultMaxFileSize     = 4 << 30  // 4 GiB per file
	DefaultMaxTotalSize    = 16 << 30 // 16 GiB per package
	DefaultMaxRatio        = 200      // uncompressed:compressed, per entry
	DefaultMaxNameLen      = 512      // bytes per entry name
	DefaultMaxDepth        = 32       // path elements per entry name
	DefaultMaxMetadataSize = 1 << 20  // metadata.json
	DefaultMaxManifestSize = 8 << 20  // deployment_manifest.json
	DefaultMaxJSONDepth    = 64       // nesting of JSON arrays and objects

	// ratioSlack is how many bytes any entry may produce regardless of
	// its compression ratio, so that small, highly compressible files
	// (a README full of spaces) are never rejected.
	ratioSlack = 1 << 20
)

// Limits bounds the resources a package may consume. A zero (or negative)
// field means the default, never "unlimited". Size limits are enforced on
// the bytes actually produced while reading, not only on the sizes an
// archive declares (which are checked too, so that obviously hostile
// archives fail at Open).
type Limits struct {
	// MaxEntries bounds the number of entries, directories included.
	MaxEntries int
	// MaxFileSize bounds the uncompressed size of any one file.
	MaxFileSize int64
	// MaxTotalSize bounds the total uncompressed size of all files.
	MaxTotalSize int64
	// MaxRatio bounds uncompressed:compressed size per entry. Entries
	// producing at most 1 MiB are exempt.
	MaxRatio int64
	// MaxNameLen bounds the length in bytes of an entry name.
	MaxNameLen int
	// MaxDepth bounds the number of slash-separated elements in a name.
	MaxDepth int
	// MaxMetadataSize and MaxManifestSize bound metadata.json and
	// deployment_manifest.json.
	MaxMetadataSize int64
	MaxManifestSize int64
	// MaxJSONDepth bounds the nesting of arrays and objects in those
	// files; it is checked before any value is built.
	MaxJSONDepth int
}

// DefaultLimits returns the default limits: 10,000 entries, 4 GiB per
// file, 16 GiB in total, a 200:1 compression ratio, 512-byte names at most
// 32 elements deep, 1 MiB of metadata, 8 MiB of manifest and JSON nested
// at most 64 deep.
func DefaultLimits() *Limits {
	return &Limits{
		MaxEntries:      DefaultMaxEntries,
		MaxFileSize:     DefaultMaxFileSize,
		MaxTotalSize:    DefaultMaxTotalSize,
		MaxRatio:        DefaultMaxRatio,
		MaxNameLen:      DefaultMaxNameLen,
		MaxDepth:        DefaultMaxDepth,
		MaxMetadataSize: DefaultMaxMetadataSize,
		MaxManifestSize: DefaultMaxManifestSize,
		MaxJSONDepth:    DefaultMaxJSONDepth,
	}
}

// resolve returns a copy of l with every zero or negative field replaced
// by its default. l may be nil.
func (l *Limits) resolve() Limits {
	d := *DefaultLimits()
	if l == nil {
		return d
	}
	r := *l
	pick := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	picki := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	picki(&r.MaxEntries, d.MaxEntries)
	pick(&r.MaxFileSize, d.MaxFileSize)
	pick(&r.MaxTotalSize, d.MaxTotalSize)
	pick(&r.MaxRatio, d.MaxRatio)
	picki(&r.MaxNameLen, d.MaxNameLen)
	picki(&r.MaxDepth, d.MaxDepth)
	pick(&r.MaxMetadataSize, d.MaxMetadataSize)
	pick(&r.MaxManifestSize, d.MaxManifestSize)
	picki(&r.MaxJSONDepth, d.MaxJSONDepth)
	return r
}

// ratioOK reports whether produced bytes from compressed bytes respect
// the ratio limit.
func (l *Limits) ratioOK(produced, compressed int64) bool {
	if produced <= ratioSlack {
		return true
	}
	// produced/compressed <= MaxRatio, without overflow.
	return compressed > 0 && produced/l.MaxRatio <= compressed
}
