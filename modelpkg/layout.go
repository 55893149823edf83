package modelpkg

// Layout says which files a package must contain and which one is the
// model. Hosts whose packages carry another model format (model.onnx, say)
// supply their own.
type Layout struct {
	// Required lists the files every package must contain, as canonical
	// slash-separated paths relative to the package root.
	Required []string
	// ModelFile is the path of the model file (it should be in Required).
	ModelFile string
	// MetadataFile and ManifestFile name the metadata and manifest files.
	MetadataFile string
	ManifestFile string
}

// Default file names from the package specification.
const (
	DefaultModelFile    = "model.joblib"
	DefaultMetadataFile = "metadata.json"
	DefaultManifestFile = "deployment_manifest.json"
)

// SignatureSuffix names the file that carries the manifest's signature:
// the manifest's name plus this suffix (deployment_manifest.json.sig; see
// package modelpkg/sshsig). Like the manifest itself, the signature is
// never listed in the manifest: it signs the manifest's bytes.
const SignatureSuffix = ".sig"

// DefaultLayout returns the layout the package specification describes:
// model.joblib, metadata.json, deployment_manifest.json, validate_model.py,
// inference_example.py, requirements.txt and README.md. Each call returns
// a fresh value that the caller may modify.
func DefaultLayout() *Layout {
	return &Layout{
		Required: []string{
			DefaultModelFile,
			DefaultMetadataFile,
			DefaultManifestFile,
			"validate_model.py",
			"inference_example.py",
			"requirements.txt",
			"README.md",
		},
		ModelFile:    DefaultModelFile,
		MetadataFile: DefaultMetadataFile,
		ManifestFile: DefaultManifestFile,
	}
}

// resolve returns a copy of l with empty file names replaced by the
// defaults; l may be nil.
func (l *Layout) resolve() Layout {
	if l == nil {
		return *DefaultLayout()
	}
	r := *l
	if r.MetadataFile == "" {
		r.MetadataFile = DefaultMetadataFile
	}
	if r.ManifestFile == "" {
		r.ManifestFile = DefaultManifestFile
	}
	return r
}
